import IMAFormat

extension Verdict {
    /// A report for a terminal: the outcome, the quote's clock, what was
    /// judged, every reason, and up to `maxEntryFailures` rejected entries
    /// (then a count of the rest).
    ///
    /// ```
    /// FAIL  kernel 6.12.9-amd64, boot 6c1f…
    ///   quote   clock 123456 ms, reset 3, restart 0, PCR 10 sha256 9f2c…
    ///   boot    chain debian-6.12.118 matched, Secure Boot on, 58 events; command line "BOOT_IMAGE=… ro"
    ///   log     entries 0-1203 judged (1190 signature, 12 manifest, 1 boot-aggregate); 0 trailing bytes
    ///   reason  [entries-rejected] 1 of 1204 measurement(s) rejected
    ///   entry 57  PCR 10  ima-ng  /tmp/payload  sha256:…
    ///             [unsigned-not-in-manifest] not signed, and sha256:… is not in any manifest for this path
    /// ```
    public func textReport(maxEntryFailures: Int = 100) -> String {
        var out = passed ? "PASS" : "FAIL"
        if let node {
            out += "  kernel \(node.kernelRelease), boot \(node.bootID)"
            if let hostname = node.hostname { out += ", host \(hostname)" }
        }
        out += "\n"
        if let quote {
            let values = quote.imaPCRValues.sorted { $0.key < $1.key }.map { "\($0.key) \(Hex.encode($0.value))" }
            out += "  quote   clock \(quote.clock) ms, reset \(quote.resetCount), restart \(quote.restartCount)"
            out += quote.safe ? "" : " (clock not safe)"
            out += values.isEmpty ? "\n" : ", PCR \(quote.imaPCR) \(values.joined(separator: ", "))\n"
        }
        if let boot {
            out += "  boot    "
            if let chain = boot.matchedChain, boot.failures.isEmpty {
                out += "chain \(chain) matched"
            } else {
                out += "no allowed boot (\(boot.failures.count) failure(s))"
            }
            out += ", Secure Boot " + (boot.secureBoot.map { $0 ? "on" : "off" } ?? "not measured") + ", \(boot.events) events"
            out += boot.commandLines.isEmpty ? "; no command line measured\n"
                                             : "; command line " + boot.commandLines.map { "\"\($0)\"" }.joined(separator: ", ") + "\n"
            for failure in boot.failures {
                out += "  boot    [\(failure.code.rawValue)] "
                out += (failure.location.isEmpty ? "" : failure.location + ": ") + failure.reason + "\n"
                if let measured = failure.measured { out += "            measured: \(measured)\n" }
                if let expected = failure.expected { out += "            expected: \(expected)\n" }
            }
        }
        if let log {
            out += "  log     "
            if let through = log.verifiedThrough {
                out += log.judgedEntries == 0 ? "no new entries (verified through entry \(through))"
                                              : "entries \(log.firstEntry)-\(through - 1) judged"
            } else {
                out += "\(log.judgedEntries) entries from \(log.firstEntry) replayed, quote not reproduced"
            }
            let counts = Acceptance.allCases.compactMap { a in log.acceptances[a].map { "\($0) \(a.rawValue)" } }
            if !counts.isEmpty { out += " (" + counts.joined(separator: ", ") + ")" }
            if log.verifiedThrough != nil { out += "; \(log.unjudgedTrailingBytes) trailing byte(s) left for the next round" }
            out += "\n"
        }
        for reason in reasons {
            var location = [String]()
            if let entry = reason.entryIndex { location.append("entry \(entry)") }
            if let offset = reason.offset { location.append("byte \(offset)") }
            if let field = reason.field { location.append(field) }
            out += "  reason  [\(reason.code.rawValue)] \(reason.message)"
            out += location.isEmpty ? "\n" : " (\(location.joined(separator: ", ")))\n"
        }
        for failure in entryFailures.prefix(maxEntryFailures) {
            out += "  entry \(failure.entryIndex)  PCR \(failure.pcr)  \(failure.template)  \(failure.displayPath)"
            out += failure.digest.map { "  \($0)" } ?? ""
            out += "\n            [\(failure.code.rawValue)] \(failure.reason)\n"
        }
        if entryFailures.count > maxEntryFailures {
            out += "  … and \(entryFailures.count - maxEntryFailures) more rejected entries\n"
        }
        return out
    }
}
