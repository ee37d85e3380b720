import IMAFormat
import TCGEventLog

/// Logs the encoder writes, with the event types firmware, shim and grub write.
enum TCGSampleLogs {
    static let microsoft = EFIGUID("77fa9abd-0359-4d32-bd60-28f4e78f784b")!

    /// A boot as shim and grub would log it, in the given banks.
    static func boot(banks: [TCGAlgorithm] = [.sha1, .sha256], locality: UInt8? = 3) -> [UInt8] {
        var e = TCGEventLogEncoder(banks: banks)
        if let locality { e.append(pcr: 0, type: .noAction, data: TCGEventData.startupLocality(locality), hashing: tcgHashing) }
        e.append(pcr: 0, type: .sCRTMVersion, data: TCGEventData.crtmVersion("1.0"), hashing: tcgHashing)
        e.append(pcr: 0, type: .efiPlatformFirmwareBlob, data: TCGEventData.firmwareBlob(base: 0x82_0000, length: 0xe0_0000),
                 measured: [1, 2, 3], hashing: tcgHashing)
        e.append(pcr: 7, type: .efiVariableDriverConfig,
                 data: TCGEventData.variable(vendor: .globalVariable, name: "SecureBoot", data: [1]), hashing: tcgHashing)
        let cert = [0x30, 0x82, 0x00, 0x04, 1, 2, 3, 4] as [UInt8]
        e.append(pcr: 7, type: .efiVariableDriverConfig,
                 data: TCGEventData.variable(vendor: .imageSecurityDatabase, name: "db", data: TCGEventData.signatureLists([
                     EFISignatureList(signatureType: .certX509, signatures: [EFISignatureData(owner: microsoft, data: cert)]),
                 ])), hashing: tcgHashing)
        e.append(pcr: 7, type: .efiVariableDriverConfig,
                 data: TCGEventData.variable(vendor: .imageSecurityDatabase, name: "dbx", data: TCGEventData.signatureLists([
                     EFISignatureList(signatureType: .certSHA256, signatures: [
                         EFISignatureData(owner: microsoft, data: [UInt8](repeating: 0xaa, count: 32)),
                         EFISignatureData(owner: microsoft, data: [UInt8](repeating: 0xbb, count: 32)),
                     ]),
                 ])), hashing: tcgHashing)
        e.append(pcr: 7, type: .separator, data: TCGEventData.separator(), hashing: tcgHashing)
        e.append(pcr: 1, type: .efiHandoffTables, data: TCGEventData.handoffTables([
            (EFIGUID("eb9d2d31-2d88-11d3-9a16-0090273fc14d")!, 0x7f00_0000),
        ]), hashing: tcgHashing)
        e.append(pcr: 1, type: .efiVariableBoot,
                 data: TCGEventData.variable(vendor: .globalVariable, name: "BootOrder", data: [1, 0, 0, 0]), hashing: tcgHashing)
        e.append(pcr: 4, type: .efiAction, data: TCGEventData.action("Calling EFI Application from Boot Option"), hashing: tcgHashing)
        for pcr: UInt32 in 0...6 { e.append(pcr: pcr, type: .separator, data: TCGEventData.separator(), hashing: tcgHashing) }
        e.append(pcr: 5, type: .efiGPTEvent, data: TCGEventData.gpt(disk: EFIGUID("11111111-2222-3333-4444-555555555555")!, partitions: [
            (EFIGUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")!, EFIGUID("aaaaaaaa-2222-3333-4444-555555555555")!, 2048, 206847, "EFI"),
            (EFIGUID("0fc63daf-8483-4772-8e79-3d69d8477de4")!, EFIGUID("bbbbbbbb-2222-3333-4444-555555555555")!, 206848, 999999, "root"),
        ]), hashing: tcgHashing)
        e.append(pcr: 4, type: .efiBootServicesApplication, data: TCGEventData.imageLoad(UEFIImageLoad(
            location: 0x7e00_0000, length: 0x0015_0000, linkTimeAddress: 0, devicePath: .file("\\EFI\\BOOT\\BOOTX64.EFI"))),
            measured: Array("shim".utf8), hashing: tcgHashing)
        e.append(pcr: 7, type: .efiVariableAuthority,
                 data: TCGEventData.variable(vendor: .imageSecurityDatabase, name: "db", data: EFISignatureData(owner: microsoft, data: cert).owner.bytes + cert),
                 hashing: tcgHashing)
        e.append(pcr: 7, type: .efiVariableAuthority,
                 data: TCGEventData.variable(vendor: .shimLock, name: "SbatLevel", data: Array("sbat,1,2022111500\nshim,2\ngrub,3\n".utf8)),
                 hashing: tcgHashing)
        e.append(pcr: 8, type: .ipl, data: TCGEventData.ipl("grub_cmd: linux /boot/vmlinuz root=/dev/vda2 ro"), hashing: tcgHashing)
        e.append(pcr: 8, type: .ipl, data: TCGEventData.ipl("kernel_cmdline: /boot/vmlinuz root=/dev/vda2 ro"), hashing: tcgHashing)
        e.append(pcr: 9, type: .ipl, data: TCGEventData.ipl("/boot/vmlinuz"), measured: Array("kernel".utf8), hashing: tcgHashing)
        e.append(pcr: 9, type: .eventTag, data: TCGEventData.eventTag(id: 0x8f3b_22ed, data: Array("initrd\0".utf8)), hashing: tcgHashing)
        e.append(pcr: 5, type: .efiAction, data: TCGEventData.action("Exit Boot Services Invocation"), hashing: tcgHashing)
        e.append(pcr: 14, type: .ipl, data: TCGEventData.ipl("MokList"), hashing: tcgHashing)
        e.append(pcr: 0, type: .omitBootDeviceEvents, data: TCGEventData.action("BOOT ATTEMPTS OMITTED"), hashing: tcgHashing)
        e.append(pcr: 2, type: TCGEventType(rawValue: 0x1234), data: [9, 9, 9], hashing: tcgHashing)
        return e.bytes
    }

    /// A legacy SHA-1 log (TPM 1.2 firmware).
    static func legacy() -> [UInt8] {
        var e = TCGEventLogEncoder(legacySHA1: ())
        e.append(pcr: 0, type: .sCRTMVersion, data: TCGEventData.crtmVersion("v1"), hashing: tcgHashing)
        e.append(pcr: 0, type: .postCode, data: TCGEventData.firmwareBlob(base: 0xfff0_0000, length: 0x10_0000), hashing: tcgHashing)
        e.append(pcr: 4, type: .efiAction, data: TCGEventData.action("Calling EFI Application from Boot Option"), hashing: tcgHashing)
        for pcr: UInt32 in 0...7 { e.append(pcr: pcr, type: .separator, data: TCGEventData.separator(), hashing: tcgHashing) }
        return e.bytes
    }
}
