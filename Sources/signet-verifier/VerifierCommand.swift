#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SQLStore
import SignetCLI
import SignetCrypto
import VerifierAPI
import VerifierConnection
import VerifierService

struct VerifierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verifier",
        abstract: "The verifier service: enrols nodes and attests them continuously.",
        discussion: "'signet-verifier verifier serve' is 'signet-verifier serve' (kept for 'signet verifier serve').",
        shouldDisplay: false,
        subcommands: [Serve.self])
}

extension VerifierCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the verifier's JSON API over HTTPS (plain HTTP only on loopback).",
            discussion: """
                State lives in the database: SQLite by default (one file, created on first start), \
                or PostgreSQL for fleets (--database postgres://user@host:5432/db), where any number \
                of verifier processes can serve the same fleet. Schema migrations run at start.

                Nodes enrol with 'signet agent run' (TPM credential challenge), then push evidence; \
                operators upload references and read the fleet with 'signet-verifier fleet'. The admin token \
                is read from --admin-token-file, which is created (0600, random) if missing.

                Webhooks: every status change is POSTed to each --webhook, from a database outbox, \
                retried with backoff, at most --webhook-concurrency at once (--webhook-concurrency-per-endpoint \
                to one endpoint). Each delivery is signed: Signet-Signature: v1=HEX, the HMAC-SHA256 under \
                the endpoint's secret of the Signet-Timestamp header (Unix seconds), a dot and the body; \
                Signet-Event-Id (also the body's event_id) lets the receiver drop replays.

                Example: signet-verifier serve --database /var/lib/signet/verifier.db --listen 0.0.0.0:8443 \\
                  --tls-cert verifier.crt.pem --tls-key verifier.key.pem --admin-token-file /etc/signet/admin.token \\
                  --webhook https://alerts.example/signet,secret-file=/etc/signet/webhook.secret
                """)

        @Option(help: ArgumentHelp("sqlite:PATH, a file path, or postgres://user:password@host:port/db.", valueName: "url"))
        var database = "/var/lib/signet/verifier.db"
        @Option(help: ArgumentHelp("Address and port to listen on (port 0 picks a free one).", valueName: "host:port"))
        var listen = "127.0.0.1:8443"
        @Option(help: ArgumentHelp("TLS certificate chain (PEM).", valueName: "file")) var tlsCert: String?
        @Option(help: ArgumentHelp("TLS private key (PEM).", valueName: "file")) var tlsKey: String?
        @Option(help: ArgumentHelp("File with the admin bearer token (created if missing).", valueName: "file")) var adminTokenFile: String
        @Option(help: ArgumentHelp("Who may enrol.", valueName: "policy"))
        var enroll: EnrollArgument = .open
        @Option(help: ArgumentHelp("CA certificate EK certificates must be issued by (repeatable; with --enroll ek-ca).", valueName: "file"))
        var ekCA: [String] = []
        @Option(help: ArgumentHelp("POST status changes here, signed with the secret in the file (repeatable).",
                                   valueName: "url,secret-file=file"))
        var webhook: [String] = []
        @Option(help: ArgumentHelp("POST status changes here unsigned, for a receiver no one else can reach (repeatable).", valueName: "url"))
        var webhookUnsigned: [String] = []
        @Option(help: ArgumentHelp("Webhook deliveries in flight at once, all endpoints together (1-256).", valueName: "n"))
        var webhookConcurrency = 8
        @Option(help: ArgumentHelp("Webhook deliveries in flight at once to one endpoint (1-256), so a dead one holds no more.", valueName: "n"))
        var webhookConcurrencyPerEndpoint = 2
        @Option(help: ArgumentHelp("How long one webhook delivery may take, connecting included (1s-10m).", valueName: "duration"))
        var webhookTimeout = DurationArgument(milliseconds: 10_000)
        @Option(help: ArgumentHelp("A node silent this long is stale (e.g. 2m).", valueName: "duration")) var staleAfter = DurationArgument(milliseconds: 120_000)
        @Option(help: ArgumentHelp("How long a nonce stays valid.", valueName: "duration")) var nonceLifetime = DurationArgument(milliseconds: 120_000)
        @Option(help: ArgumentHelp("Keep verdicts this long (0: forever); a node's newest is always kept.", valueName: "duration"))
        var history = DurationArgument(milliseconds: 90 * 86_400_000)
        @Option(help: ArgumentHelp("Database connections and worker threads.", valueName: "n")) var workers = 4
        @Option(help: ArgumentHelp("This process's name in the database (default: host:pid).", valueName: "name")) var instance: String?
        @Option(help: ArgumentHelp("Write the bound port here once listening.", valueName: "file")) var portFile: String?
        @Option(help: ArgumentHelp("Largest request body in MiB (evidence carries the log).", valueName: "MiB")) var maxBody = 64
        @Option(help: ArgumentHelp("How long an enrolment challenge may be answered; unanswered ones are then swept.", valueName: "duration"))
        var enrollmentLifetime = DurationArgument(milliseconds: 300_000)
        @Option(help: ArgumentHelp("Pending (unanswered) enrolments kept per node id; a new one replaces the oldest.", valueName: "n"))
        var maxPendingPerNode = 2
        @Option(help: ArgumentHelp("Pending enrolments kept in all; past it enrolment answers 503.", valueName: "n"))
        var maxPendingEnrollments = 10_000
        @Option(help: ArgumentHelp("Enrolment requests admitted per second, all clients together (0: no limit; else 429).", valueName: "n"))
        var enrollRate: Double = 20
        @Option(help: ArgumentHelp("Enrolment requests admitted per second from one client address (IPv6: per /64; 0: no limit).", valueName: "n"))
        var enrollRatePerClient: Double = 2
        @Option(help: ArgumentHelp("Largest EK certificate an enrolment may carry, in bytes (1024-32768).", valueName: "bytes"))
        var maxEkCert = 8192
        @Option(help: ArgumentHelp("A client must send a request's head within this time of connecting.", valueName: "duration"))
        var headTimeout = DurationArgument(milliseconds: 10_000)
        @Option(help: ArgumentHelp("… and the whole request within this time of its head.", valueName: "duration"))
        var requestTimeout = DurationArgument(milliseconds: 120_000)

        func run() async throws {
            let (core, options) = try reportingErrors { () throws -> (VerifierCore, VerifierServer.Options) in
                guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
                    throw UsageError("--listen must be host:port, not '\(listen)'")
                }
                var options = VerifierServer.Options()
                options.host = String(listen[..<colon]).trimmingCharacters(in: ["[", "]"])
                options.port = port
                options.tlsCertificateFile = tlsCert
                options.tlsKeyFile = tlsKey
                options.workerThreads = workers
                options.headTimeout = headTimeout.seconds
                options.requestTimeout = requestTimeout.seconds
                guard (tlsCert == nil) == (tlsKey == nil) else { throw UsageError("give both --tls-cert and --tls-key, or neither") }
                if tlsCert == nil && !["127.0.0.1", "::1", "localhost"].contains(options.host) {
                    throw UsageError("plain HTTP is allowed only on loopback; give --tls-cert and --tls-key to listen on \(options.host)")
                }
                let webhooks = try Self.webhooks(signed: webhook, unsigned: webhookUnsigned)  // refused before anything is created
                let token = try adminToken()
                var configuration = VerifierConfiguration(instanceID: instance ?? Self.defaultInstance(), adminToken: token)
                switch enroll {
                case .open: configuration.enrollment = .open
                case .ekCA:
                    guard !ekCA.isEmpty else { throw UsageError("--enroll ek-ca needs at least one --ek-ca certificate") }
                    let cas = try ekCA.map { path -> [UInt8] in
                        let bytes = try FileBytes.read(path)
                        _ = try Certificate.parseAll(bytes, source: path)  // a bad file fails now, not at the first enrolment
                        return bytes
                    }
                    configuration.enrollment = .endorsementCA(cas)
                }
                configuration.webhooks = webhooks
                guard (1...256).contains(webhookConcurrency), (1...256).contains(webhookConcurrencyPerEndpoint) else {
                    throw UsageError("--webhook-concurrency and --webhook-concurrency-per-endpoint must be 1-256")
                }
                configuration.webhookConcurrency = webhookConcurrency
                configuration.webhookConcurrencyPerEndpoint = webhookConcurrencyPerEndpoint
                guard (1000...600_000).contains(webhookTimeout.milliseconds) else { throw UsageError("--webhook-timeout must be 1s-10m") }
                configuration.webhookTimeoutMs = webhookTimeout.milliseconds
                configuration.staleAfterMs = staleAfter.milliseconds
                configuration.nonceLifetimeMs = nonceLifetime.milliseconds
                configuration.historyRetentionMs = history.milliseconds
                guard maxBody >= 1 && maxBody <= 1024 else { throw UsageError("--max-body must be 1-1024 MiB") }
                configuration.maxBodyBytes = maxBody << 20
                guard enrollmentLifetime.milliseconds >= 1000 else { throw UsageError("--enrollment-lifetime must be at least 1s") }
                configuration.enrollmentLifetimeMs = enrollmentLifetime.milliseconds
                guard (1...100).contains(maxPendingPerNode) else { throw UsageError("--max-pending-per-node must be 1-100") }
                configuration.maxPendingEnrollmentsPerNode = maxPendingPerNode
                guard maxPendingEnrollments >= 1 else { throw UsageError("--max-pending-enrollments must be at least 1") }
                configuration.maxPendingEnrollments = maxPendingEnrollments
                guard enrollRate >= 0, enrollRate.isFinite, enrollRatePerClient >= 0, enrollRatePerClient.isFinite else {
                    throw UsageError("--enroll-rate and --enroll-rate-per-client must be 0 (no limit) or a positive number per second")
                }
                configuration.enrollmentRate = enrollRate
                configuration.enrollmentRatePerClient = enrollRatePerClient
                guard (1024...32768).contains(maxEkCert) else { throw UsageError("--max-ek-cert must be 1024-32768 bytes") }
                configuration.maxEKCertificateBytes = maxEkCert
                #if DEBUG
                // The crash tests' hook (Tests/VerifierServiceTests/FaultTests.swift): debug builds only,
                // so no release binary reads the variable.
                if let delay = getenv("SIGNET_VERIFIER_FAULT_DELAY_BEFORE_COMMIT_MS").flatMap({ Int(String(cString: $0)) }), delay > 0 {
                    configuration.beforeCommitForTesting = {
                        var ts = timespec(tv_sec: delay / 1000, tv_nsec: (delay % 1000) * 1_000_000)
                        nanosleep(&ts, nil)
                    }
                }
                #endif
                let db: SQLDatabase
                do { db = try SQLDatabase(url: database, maxConnections: workers) } catch {
                    throw UsageError("--database \(Self.redacted(database)): \(error)")
                }
                return (try VerifierCore(database: db, configuration: configuration), options)
            }
            let scheme = tlsCert == nil ? "http" : "https"
            let portFile = self.portFile
            let dbName = Self.redacted(database)
            try await VerifierServer.run(core: core, options: options) { port in
                if let portFile { try? FileBytes.writeAtomically(Array("\(port)\n".utf8), to: portFile, mode: 0o644) }
                Console.out("signet-verifier: listening on \(scheme)://\(options.host):\(port) (database \(dbName))")
            }
        }

        /// The webhook endpoints: `URL,secret-file=FILE` (signed with the secret in FILE) and,
        /// only where the operator says so, unsigned URLs.
        static func webhooks(signed: [String], unsigned: [String]) throws -> [Webhook] {
            var hooks: [Webhook] = []
            for spec in signed {
                guard let marker = spec.firstRange(of: ",secret-file=") else {
                    throw UsageError("""
                        --webhook \(spec): a webhook needs a secret to sign its deliveries: \
                        --webhook '\(spec),secret-file=FILE' (FILE holding at least \(minimumWebhookSecret) bytes, \
                        e.g. from 'openssl rand -hex 32'), or --webhook-unsigned \(spec) to send it unsigned
                        """)
                }
                let url = String(spec[..<marker.lowerBound])
                let file = String(spec[marker.upperBound...])
                try checkWebhookURL(url, option: "--webhook")
                guard !file.isEmpty else { throw UsageError("--webhook \(spec): no file after secret-file=") }
                hooks.append(Webhook(url: url, secret: try webhookSecret(file)))
            }
            for url in unsigned {
                try checkWebhookURL(url, option: "--webhook-unsigned")
                hooks.append(Webhook(url: url, secret: nil))
            }
            var seen = Set<String>()
            for hook in hooks where !seen.insert(hook.url).inserted {
                throw UsageError("webhook \(hook.url) is given twice (one endpoint, one secret)")
            }
            return hooks
        }

        static let minimumWebhookSecret = 16

        static func checkWebhookURL(_ url: String, option: String) throws {
            let rest = url.hasPrefix("https://") ? url.dropFirst(8) : url.hasPrefix("http://") ? url.dropFirst(7) : nil
            guard let rest, let host = rest.split(separator: "/", omittingEmptySubsequences: false).first, !host.isEmpty,
                  !url.contains(where: { $0 == " " || $0.isNewline }) else {
                throw UsageError("\(option) \(url): not an http:// or https:// URL")
            }
        }

        /// A webhook's secret: the file's bytes without surrounding white space, at least 16 of them.
        static func webhookSecret(_ path: String) throws -> [UInt8] {
            let bytes = try FileBytes.read(path, limit: 4096)
            let white: Set<UInt8> = [0x20, 0x09, 0x0a, 0x0d]
            let secret = Array(bytes.drop { white.contains($0) }.reversed().drop { white.contains($0) }.reversed())
            guard secret.count >= minimumWebhookSecret else {
                throw UsageError("webhook secret \(path): \(secret.count) bytes; at least \(minimumWebhookSecret) (e.g. 'openssl rand -hex 32 > \(path)')")
            }
            return secret
        }

        /// The admin token: read from the file, or created there.
        func adminToken() throws -> [UInt8] {
            if access(adminTokenFile, F_OK) == 0 { return try readToken(adminTokenFile) }
            let token = SecureRandom.bytes(32)
            try FileBytes.writeAtomically(Array((TokenEncoding.encode(token) + "\n").utf8), to: adminTokenFile, mode: 0o600)
            Console.err("signet-verifier: created admin token in \(adminTokenFile)")
            return token
        }

        static func defaultInstance() -> String {
            var host = [CChar](repeating: 0, count: 256)
            gethostname(&host, 255)
            return "\(String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(getpid())"
        }

        /// The URL without its password, for messages.
        static func redacted(_ url: String) -> String {
            guard let scheme = url.range(of: "://"), let at = url.lastIndex(of: "@"), at > scheme.upperBound else { return url }
            let userinfo = url[scheme.upperBound..<at]
            guard let colon = userinfo.firstIndex(of: ":") else { return url }
            return String(url[..<colon]) + ":***" + String(url[at...])
        }
    }
}

/// `--enroll`: who may enrol.
enum EnrollArgument: String, CaseIterable, ExpressibleByArgument {
    case open
    case ekCA = "ek-ca"

    static var allValueDescriptions: [String: String] {
        ["open": "any TPM that answers the credential challenge",
         "ek-ca": "only TPMs whose EK certificate an --ek-ca issued"]
    }
}
