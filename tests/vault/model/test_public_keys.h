// Public keys (no private halves exist anywhere) used as link inputs by the model tests.
// Fixed rather than generated per test: ctest runs every test in its own process, and
// RSA key generation would dominate the run time.
#pragma once

namespace idvault::vault::test_keys {

inline constexpr const char* kRsa2048Spki = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2jbJr08aRGBPVw5y17Tt
wu21deSYviwBmR8sEh5s2TQaRCtiKSVMouW5aqbpHZe8S/PY9uA0IsYpecVtCgOJ
XaK3Uq1Qs+ah89QAbSsM0L3Jo7ez4WCKbz4+315ifKgeU1XM7YrP4LLqx8Xr4MuM
GQ49grwNaIVbMKf75cc8FLS+2QLox54XRK3L60TAhfSs1hJ1fqthqQDed+75cb5P
ldoaBOH2gIYAmxlRgYmfUt46kCxDf7d3mbuNkMOOUGNxCFLJD77LrFTwPYQZ4ynr
h4oEglrEigNz7hGWmxlGoUs+Hvr2hOSD/rQtBojC4I00l12lmGy1k3pvvVg8Yd0r
WQIDAQAB
-----END PUBLIC KEY-----
)";
inline constexpr const char* kRsa2048Pkcs1 = R"(-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEA2jbJr08aRGBPVw5y17Ttwu21deSYviwBmR8sEh5s2TQaRCtiKSVM
ouW5aqbpHZe8S/PY9uA0IsYpecVtCgOJXaK3Uq1Qs+ah89QAbSsM0L3Jo7ez4WCK
bz4+315ifKgeU1XM7YrP4LLqx8Xr4MuMGQ49grwNaIVbMKf75cc8FLS+2QLox54X
RK3L60TAhfSs1hJ1fqthqQDed+75cb5PldoaBOH2gIYAmxlRgYmfUt46kCxDf7d3
mbuNkMOOUGNxCFLJD77LrFTwPYQZ4ynrh4oEglrEigNz7hGWmxlGoUs+Hvr2hOSD
/rQtBojC4I00l12lmGy1k3pvvVg8Yd0rWQIDAQAB
-----END RSA PUBLIC KEY-----
)";
inline constexpr const char* kRsa1024Spki = R"(-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDMrP60ViftuXkpBbWEvs80SxWK
7yE8nVEMrI51Clfbc72iWdFlpKzUQRJYZD2+S1UgsqRovhqF4AZpu/fvGe6pDMuo
DNNL4AsfzA8uabvm8uKuCf7ylVeiV6Z8E2X8j5CcriIT/9gle3a7CD6pyB13rW5u
G5P7V1LTeP8hqQV1swIDAQAB
-----END PUBLIC KEY-----
)";
inline constexpr const char* kEcP256Spki = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfRQyvRvadeDKRoVqyQH8FPBuSWBr
J1IJUdOPYKX9Y3+EWmtywfZcSm6BJPrO07+PmABnPOGCcNEucemt6KISuQ==
-----END PUBLIC KEY-----
)";

}  // namespace idvault::vault::test_keys
