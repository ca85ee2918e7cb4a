"""A service's callback endpoint for `idvault authorize --deliver` tests: answers POSTs on
127.0.0.1 with a fixed status, keeping each body it received.

usage: callback_server.py PORT_FILE BODY_DIR STATUS
Writes the port it listens on to PORT_FILE once ready; runs until killed.
"""
import http.server
import os
import sys

port_file, body_dir, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
count = 0


class Callback(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        count += 1
        with open(os.path.join(body_dir, f"body-{count}.json"), "wb") as f:
            f.write(body)
        with open(os.path.join(body_dir, f"type-{count}"), "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        answer = b"ok\n" if status < 300 else b"bundle rejected: nonce unknown\nsecond line never shown\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Callback)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
