import TPM

/// How the TPM clock of this round's quote relates to the last verified one
/// of the same node: TPM2 keeps `clock` across power cycles and counts
/// resets (boots) and restarts (resume from hibernation); none of them may
/// go backwards. A clock that went back after a reset or restart is
/// tolerated only when the TPM says so itself (`safe` = NO: the clock was
/// not saved at the last power loss).
enum ClockCheck {
    enum Transition: Equatable {
        /// No previous round.
        case first
        /// Same boot: the log goes on.
        case sameBoot
        /// Resumed from hibernation (restartCount grew): the log goes on.
        case resumed
        /// Rebooted (resetCount grew): the log starts again at entry 0.
        case reboot
    }

    static func check(previous: AttestationState?, now: TPMSAttest.ClockInfo) -> Result<Transition, VerdictReason> {
        guard let previous else { return .success(.first) }
        func backwards(_ what: String) -> Result<Transition, VerdictReason> {
            .failure(VerdictReason(code: .clockBackwards, message: what, field: "TPMS_ATTEST.clockInfo"))
        }
        if now.resetCount < previous.resetCount {
            return backwards("resetCount went from \(previous.resetCount) to \(now.resetCount): the TPM was cleared, or this is another TPM")
        }
        if now.resetCount > previous.resetCount {
            if now.clock < previous.clock && now.safe {
                return backwards("clock went from \(previous.clock) to \(now.clock) ms across a reboot while the TPM reports it safe")
            }
            return .success(.reboot)
        }
        if now.restartCount < previous.restartCount {
            return backwards("restartCount went from \(previous.restartCount) to \(now.restartCount) within boot \(now.resetCount)")
        }
        if now.restartCount > previous.restartCount {
            if now.clock < previous.clock && now.safe {
                return backwards("clock went from \(previous.clock) to \(now.clock) ms across a resume while the TPM reports it safe")
            }
            return .success(.resumed)
        }
        if now.clock < previous.clock {
            return backwards("clock went from \(previous.clock) to \(now.clock) ms within one boot: an old quote, or a TPM that was rolled back")
        }
        return .success(.sameBoot)
    }
}
