#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Attestation
import SignetCLI
import SignetCrypto
import VerifierAPI
import VerifierConnection

struct Fleet: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operate a verifier service: fleet status and checks, references, groups.",
        discussion: "Admin calls authenticate with the token from --admin-token-file (or $SIGNET_ADMIN_TOKEN).",
        subcommands: [Status.self, Check.self, UploadReference.self, Assign.self])
}

/// The verifier and the admin token.
struct AdminOptions: ParsableArguments {
    @OptionGroup var connection: VerifierConnectionOptions
    @Option(help: ArgumentHelp("File with the admin token ('signet-verifier serve' creates it).", valueName: "file")) var adminTokenFile: String?

    func token() throws -> [UInt8] {
        if let adminTokenFile { return try readToken(adminTokenFile) }
        if let env = getenv("SIGNET_ADMIN_TOKEN"), let token = TokenEncoding.decode(String(cString: env)) { return token }
        throw UsageError("give --admin-token-file (or set SIGNET_ADMIN_TOKEN)")
    }
}

extension Fleet {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every node: group, last attestation, verdict, first failing entry.",
            discussion: "Example: signet-verifier fleet status --verifier https://verifier:8443 --ca ca.pem --admin-token-file admin.token")
        @OptionGroup var admin: AdminOptions
        @Flag(help: "Print JSON (the verifier's fleet document).") var json = false

        func run() throws {
            let fleet: FleetStatus = try reportingErrors {
                try admin.connection.client().call("GET", APIPath.fleet, token: try admin.token(), body: nil)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                Console.write(1, String(decoding: try encoder.encode(fleet), as: UTF8.self) + "\n")
            } else {
                Console.write(1, Self.table(fleet))
            }
        }

        static func table(_ fleet: FleetStatus) -> String {
            let header = ["NODE", "GROUP", "STATUS", "LAST ATTESTATION", "ROUND", "REFERENCE", "FIRST FAILURE"]
            let rows = fleet.nodes.map { n in
                [n.nodeID, n.group, n.status.uppercased(), n.lastAttestationAt.map { age($0, now: fleet.now) } ?? "never",
                 "\(n.round)", n.referenceVersion.map { "v\($0)" } ?? "-", n.firstFailure ?? ""]
            }
            var widths = header.map(\.count)
            for row in rows { for (i, cell) in row.enumerated() where i < header.count - 1 { widths[i] = max(widths[i], cell.count) } }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
            }
            let failed = fleet.nodes.filter { $0.status == "fail" }.count
            let stale = fleet.nodes.filter { $0.status == "stale" }.count
            return line(header) + rows.map(line).joined() + "\(fleet.nodes.count) nodes: \(fleet.nodes.count - failed - stale) ok or enrolled, \(failed) failed, \(stale) stale\n"
        }

        static func age(_ ms: Int64, now: Int64) -> String {
            let s = max(0, (now - ms) / 1000)
            return s < 120 ? "\(s)s ago" : s < 7200 ? "\(s / 60)m ago" : "\(s / 3600)h ago"
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit non-zero when any node failed or has not attested within --stale-after (for cron and CI).",
            discussion: """
                Exit 0: every node passed recently. Exit 1: some node failed, is stale, or never attested \
                (each is named on stdout). Exit 2: the verifier could not be asked.

                Example: signet-verifier fleet check --verifier https://verifier:8443 --ca ca.pem --admin-token-file admin.token --stale-after 5m
                """)
        @OptionGroup var admin: AdminOptions
        @Option(help: ArgumentHelp("A node whose last attestation is older than this counts as stale.", valueName: "duration"))
        var staleAfter = DurationArgument(milliseconds: 120_000)

        func run() throws {
            let fleet: FleetStatus = try reportingErrors {
                try admin.connection.client().call("GET", APIPath.fleet, token: try admin.token(), body: nil)
            }
            var problems = [String]()
            for n in fleet.nodes {
                if n.status == "fail" {
                    problems.append("\(n.nodeID): FAILED round \(n.round): \(n.firstFailure ?? "see the verifier")")
                } else if let last = n.lastAttestationAt, last >= fleet.now - staleAfter.milliseconds, n.status == "pass" {
                    continue
                } else if n.lastAttestationAt == nil {
                    problems.append("\(n.nodeID): never attested")
                } else {
                    problems.append("\(n.nodeID): STALE, last attestation \(Status.age(n.lastAttestationAt!, now: fleet.now))")
                }
            }
            for p in problems { Console.out(p) }
            Console.out("fleet check: \(fleet.nodes.count) nodes, \(problems.count) with problems")
            if !problems.isEmpty { throw Exit.someFailed }
        }
    }

    struct UploadReference: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upload-reference",
            abstract: "Upload certificates, signed manifests and boot references as the next reference version of a group.",
            discussion: """
                The group's nodes are judged by the newest version from their next round on. With \
                --boot-reference, each round's measured boot is judged first (the agent sends the \
                firmware event log); give the old and the new image's boot references together \
                while a kernel update rolls out, then the new one alone.

                Examples:
                  signet-verifier fleet upload-reference --verifier … --admin-token-file … --group web --cert ima.crt.pem --manifest m.jsonl
                  signet-verifier fleet upload-reference --verifier … --admin-token-file … --group web --cert ima.crt.pem --manifest m.jsonl --boot-reference boot-v1.json --boot-reference boot-v2.json
                """)
        @OptionGroup var admin: AdminOptions
        @Option(help: ArgumentHelp("The node group.", valueName: "name")) var group = "default"
        @OptionGroup var reference: ReferenceOptions

        func run() throws {
            try reportingErrors {
                let sources = try reference.sources()
                _ = try sources.build()  // refuse locally what the verifier would refuse
                let upload = ReferenceUpload(
                    certificates: sources.certificates.map { Base64Text.encode($0.pem) },
                    manifests: sources.manifests.map { .init(name: $0.name, data: Base64Text.encode($0.data), signature: Base64Text.encode($0.signature)) },
                    keylimePolicies: sources.keylimePolicies.map { Base64Text.encode($0.json) },
                    bootReferences: sources.bootReferences.map { Base64Text.encode($0.json) },
                    excludes: sources.excludes, allowSHA1: sources.allowsSHA1)
                let version: ReferenceVersion = try admin.connection.client().call("POST", APIPath.references(group), token: try admin.token(), json: upload)
                Console.out("group \(version.group): reference v\(version.version) (sha256 \(version.sha256))")
            }
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a node to a group (its next round is judged by that group's reference).",
            discussion: "Example: signet-verifier fleet assign --verifier https://verifier:8443 --ca ca.pem --admin-token-file admin.token --node web-1 --group web")
        @OptionGroup var admin: AdminOptions
        @Option(help: ArgumentHelp("The node id.", valueName: "id")) var node: String
        @Option(help: ArgumentHelp("The group.", valueName: "name")) var group: String

        func run() throws {
            try reportingErrors {
                let _: GroupAssignment = try admin.connection.client().call("PUT", APIPath.nodeGroup(node), token: try admin.token(),
                                                                            json: GroupAssignment(group: group))
                Console.out("\(node): group \(group)")
            }
        }
    }
}
