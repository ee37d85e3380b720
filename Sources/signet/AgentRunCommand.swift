#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import Attestation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import TPM
import TPMDevice
import VerifierAPI
import VerifierConnection

extension Agent {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attest this node to a verifier service, every --interval (push mode: no port opened here).",
            discussion: """
                First run: creates the AK in --state (as 'agent enroll' does) and enrols: the \
                verifier answers with a credential challenge to the TPM's endorsement key, the TPM \
                opens it (ActivateCredential), and the credential becomes this node's token \
                (--state/verifier.token, 0600). Each round then asks for a nonce, quotes, and sends \
                only the log entries the verifier has not seen. A reboot is noticed by the verifier \
                (boot id, TPM reset count) and the log is sent again from the start.

                Exit codes with --once: 0 pass, 1 the verifier judged the node failed, 2 error.

                Example: signet agent run --verifier https://verifier:8443 --ca ca.pem --state /var/lib/signet --interval 30s
                """)

        @OptionGroup var tpm: TCTIOptions
        @OptionGroup var connection: VerifierConnectionOptions
        @Option(help: ArgumentHelp("Directory for the AK and the verifier token.", valueName: "dir")) var state: String
        @Option(help: ArgumentHelp("This node's id at the verifier (default: the hostname).", valueName: "id")) var nodeID: String?
        @Option(help: ArgumentHelp("rsa or ecc, for a new AK and the EK.", valueName: "type")) var keyType: TPMKeyType = .rsa2048
        @Option(help: ArgumentHelp("Time between rounds (e.g. 30s).", valueName: "duration")) var interval = DurationArgument(milliseconds: 30_000)
        @OptionGroup var sources: EvidenceSources
        @Option(help: ArgumentHelp("The boot id (default: /proc/sys/kernel/random/boot_id).", valueName: "id")) var bootID: String?
        @Option(help: ArgumentHelp("PCRs to quote, tpm2-tools syntax.", valueName: "banks")) var pcrs = "sha256:0-10"
        @Flag(help: "Run one round (enrolling first if needed) and exit with its verdict.") var once = false

        func run() throws {
            quietTSS()
            let agent = try reportingErrors { try AgentSession(options: self) }
            if once {
                let passed = try reportingErrors { try agent.round() }
                if !passed { throw Exit.someFailed }
                return
            }
            var backoff = 1.0
            while true {
                do {
                    _ = try agent.round()
                    backoff = 1
                    sleepSeconds(interval.seconds)
                } catch {
                    Console.error("\(error); retrying in \(Int(backoff)) s")
                    sleepSeconds(backoff)
                    backoff = min(backoff * 2, max(interval.seconds, 60))
                }
            }
        }
    }
}

func sleepSeconds(_ s: Double) {
    var ts = timespec(tv_sec: Int(s), tv_nsec: Int((s - Double(Int(s))) * 1e9))
    var rest = timespec()
    while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
}

/// One node's connection to the verifier: its TPM, AK, token, and the rounds.
final class AgentSession {
    let options: Agent.Run
    let client: VerifierClient
    let nodeID: String
    let tokenFile: String

    init(options: Agent.Run) throws {
        self.options = options
        client = try options.connection.client()
        nodeID = options.nodeID ?? NodeFacts.hostname()
        guard Identifier.isValid(nodeID) else { throw UsageError("node id '\(nodeID)' must be 1-64 of A-Z a-z 0-9 . _ -") }
        tokenFile = "\(options.state)/verifier.token"
        if mkdir(options.state, 0o700) != 0 && errno != EEXIST {
            throw UsageError("cannot create \(options.state): \(errnoDescription(errno))")
        }
    }

    /// The AK in the state directory, created on first use.
    func attestationKey(_ context: TPMContext) throws -> AttestationKey {
        if access("\(options.state)/\(AttestationKey.publicFile)", F_OK) == 0 { return try AttestationKey.load(from: options.state) }
        let ak = try context.createAttestationKey(options.keyType)
        try ak.save(to: options.state)
        return ak
    }

    /// Enrols with the verifier: credential challenge to the EK, opened by the TPM.
    func enroll(_ context: TPMContext, _ ak: AttestationKey) throws -> [UInt8] {
        let ek = try context.endorsementKey(options.keyType)
        let request = EnrollmentRequest(nodeID: nodeID, endorsementKey: Base64Text.encode(ek.publicArea.tpm2bMarshaled),
                                        endorsementCertificate: ek.certificate.map(Base64Text.encode),
                                        attestationKey: Base64Text.encode(ak.publicBlob))
        let challenge: EnrollmentChallenge = try client.call("POST", APIPath.enrollments, token: nil, json: request)
        guard let blob = Base64Text.decode(challenge.credentialBlob), let secret = Base64Text.decode(challenge.encryptedSecret) else {
            throw UsageError("the verifier's challenge is not base64")
        }
        let credential = try context.activateCredential(attestationKey: ak, endorsementKeyType: options.keyType,
                                                        challenge: CredentialChallenge(credentialBlob: blob, encryptedSecret: secret))
        let result: EnrollmentResult = try client.call("POST", APIPath.activation(challenge.enrollmentID), token: nil,
                                                       json: ActivationRequest(credential: Base64Text.encode(credential)))
        try FileBytes.writeAtomically(Array((TokenEncoding.encode(credential) + "\n").utf8), to: tokenFile, mode: 0o600)
        Console.out("enrolled \(result.nodeID) (group \(result.group)) at \(client.base)")
        return credential
    }

    /// One round; true when the verifier judged the node passed. A rejected token (the
    /// verifier forgot the node, or it was re-enrolled elsewhere) leads to one re-enrolment.
    func round() throws -> Bool {
        let bootID = options.bootID ?? NodeFacts.bootID()
        let selection: PCRSelection
        do { selection = try PCRSelection(parsing: options.pcrs) } catch { throw UsageError("--pcrs '\(options.pcrs)': \(error)") }
        // Everything that needs the TPM, ending with the quote; the connection is closed before
        // the log is read (see `agent quote`: quote first, then read the log).
        let (ak, token, challenge, nonce, quote) = try { () throws -> (AttestationKey, [UInt8], NonceResponse, [UInt8], TPMQuote) in
            let context = try TPMContext(tcti: options.tpm.tcti)
            let ak = try attestationKey(context)
            var token = access(tokenFile, F_OK) == 0 ? try readToken(tokenFile) : try enroll(context, ak)
            let challenge: NonceResponse
            do {
                challenge = try client.call("POST", APIPath.nonce(nodeID), token: token, json: NonceRequest(bootID: bootID))
            } catch let refusal as VerifierRefusal where refusal.status == 401 {
                Console.warning("the verifier does not accept this node's token; enrolling again")
                token = try enroll(context, ak)
                challenge = try client.call("POST", APIPath.nonce(nodeID), token: token, json: NonceRequest(bootID: bootID))
            }
            guard let nonce = Hex.decode(challenge.nonce), (1...64).contains(nonce.count) else {
                throw UsageError("the verifier's nonce '\(challenge.nonce)' is not 1-64 bytes of hex")
            }
            return (ak, token, challenge, nonce, try context.quote(with: ak, nonce: nonce, selection: selection))
        }()
        let (evidence, start, sent) = try options.sources.evidence(nonce: nonce, quote: quote, ak: ak, bootID: bootID) { logBytes in
            let start = LogPosition(entryIndex: challenge.fromEntry, byteOffset: challenge.fromOffset)
            return start.byteOffset > logBytes.count ? .start : start  // the log is shorter than the verifier thinks: send it all
        }
        let result: AttestationResponse = try client.call("POST", APIPath.attestations(nodeID), token: token, body: evidence.encoded())
        if result.passed {
            Console.out("\(nodeID): round \(result.round) pass (group \(result.group) reference v\(result.referenceVersion.map(String.init) ?? "none"); sent \(sent) log bytes from entry \(start.entryIndex); verified through entry \(result.nextEntry))")
        } else {
            Console.out("\(nodeID): round \(result.round) FAIL: \(result.firstFailure ?? "see the verifier") (group \(result.group) reference v\(result.referenceVersion.map(String.init) ?? "none"))")
        }
        return result.passed
    }
}
