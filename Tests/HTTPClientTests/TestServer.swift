import Foundation
import SignetTestSupport
import XCTest

/// The Python 3 server the tests talk to: binds 127.0.0.1:0, prints its port, then serves.
///
/// Paths: `/status/N` answers status N; `/large/N` N bytes with a Content-Length; `/stream/N` N bytes
/// without one (connection closed at the end); `/sleep/S` waits S seconds first; anything else echoes
/// the request as JSON: method, path, lower-cased headers, body (base64) and the client's port.
/// Every response carries `X-Echo-Server: signet-test` and `X-Multi` twice.
let pythonServerScript = #"""
import base64, json, socket, ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode = sys.argv[1]  # plain | tls | mtls

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, content_type="application/octet-stream", length=True):
        if status in (204, 304):
            body = b""  # these statuses never carry a body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Echo-Server", "signet-test")
        self.send_header("X-Multi", "one")
        self.send_header("X-Multi", "two")
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        parts = self.path.split("/")
        if len(parts) == 3 and parts[1] == "large":
            self._send(200, b"x" * int(parts[2]))
            return
        if len(parts) == 3 and parts[1] == "stream":
            self._send(200, b"y" * int(parts[2]), length=False)
            return
        status = 200
        if len(parts) == 3 and parts[1] == "status":
            status = int(parts[2])
        if len(parts) == 3 and parts[1] == "sleep":
            time.sleep(float(parts[2]))
        echo = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": base64.b64encode(body).decode(),
            "clientPort": self.client_address[1],
        }
        self._send(status, json.dumps(echo).encode(), "application/json")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if mode in ("tls", "mtls"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    if mode == "mtls":
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(sys.argv[4])
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

/// A running Python test server; `stop()` terminates it by PID and waits.
final class PythonServer {
    let process = Process()
    let port: Int
    private let stderrPath: String

    /// Starts the server in `dir` and waits for it to print its port.
    init(in dir: TempDir, mode: String = "plain", arguments: [String] = []) throws {
        guard let python = which("python3") ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : nil) else {
            throw XCTSkip("python3 not found")
        }
        let script = dir.write("server.py", pythonServerScript)
        let out = Pipe()
        // stderr to a file, not a pipe: tracebacks from rejected handshakes must never block the server.
        stderrPath = dir.write("server.stderr", "")
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-u", script, mode] + arguments
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()

        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // EOF: the script died
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = Int(text), port > 0 else {
            process.terminate()
            process.waitUntilExit()
            let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            throw NSError(domain: "PythonServer", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "server did not start: \(text) \(err)"])
        }
        self.port = port
    }

    var http: String { "http://127.0.0.1:\(port)" }
    var https: String { "https://127.0.0.1:\(port)" }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
        }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A throwaway CA, a server certificate for 127.0.0.1 (IP SAN) and a client certificate, made with the openssl CLI.
struct TLSFixture {
    let caCert: String
    let serverCert: String
    let serverKey: String
    let clientCert: String
    let clientKey: String
    /// A second, unrelated CA (for "wrong CA" checks).
    let otherCACert: String

    init(in dir: TempDir) throws {
        guard let openssl = which("openssl") else { throw XCTSkip("openssl not found") }
        func run(_ args: [String]) throws {
            let r = try runProgram(openssl, args, currentDirectory: dir.path)
            guard r.status == 0 else {
                throw NSError(domain: "TLSFixture", code: Int(r.status),
                              userInfo: [NSLocalizedDescriptionKey: "openssl \(args.joined(separator: " ")): \(r.output)"])
            }
        }
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        func makeCA(_ name: String) throws {
            try run(["req", "-x509"] + ecKey + ["-keyout", "\(name).key", "-out", "\(name).crt", "-days", "2",
                     "-subj", "/CN=Signet Test \(name)",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        try makeCA("ca")
        try makeCA("otherca")
        func issue(_ name: String, subject: String, extensions: String) throws {
            dir.write("\(name).ext", extensions)
            try run(["req"] + ecKey + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext"])
        }
        try issue("server", subject: "/CN=127.0.0.1",
                  extensions: "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        try issue("client", subject: "/CN=signet-test-client",
                  extensions: "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
        caCert = dir.url("ca.crt"); otherCACert = dir.url("otherca.crt")
        serverCert = dir.url("server.crt"); serverKey = dir.url("server.key")
        clientCert = dir.url("client.crt"); clientKey = dir.url("client.key")
    }
}

/// A loopback port nothing listens on: bind port 0, read the port, close.
func unusedLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
            bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
        }
    }
    precondition(bound)
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The echo server's JSON reply.
struct Echo: Decodable {
    let method: String
    let path: String
    let headers: [String: String]
    let body: String
    let clientPort: Int
    var bodyBytes: [UInt8] { Array(Data(base64Encoded: body) ?? Data()) }
}
