import IMAFormat
import SignetCrypto

/// Reads what a policy needs to know about a filesystem image: its UUID
/// (for fsuuid=) from the ext2/3/4 superblock.
public enum FilesystemImage {
    /// The UUID of an ext2/3/4 image or block device.
    public static func ext4UUID(of path: String) throws -> IMAFilesystemUUID {
        let bytes = try FileBytes.read(path, limit: Int.max, prefix: 2048)
        return try ext4UUID(superblockArea: bytes, source: path)
    }

    /// Pure: the superblock starts at byte 1024; magic 0xEF53 (LE) at +0x38, s_uuid at +0x68.
    public static func ext4UUID(superblockArea bytes: [UInt8], source: String) throws -> IMAFilesystemUUID {
        guard bytes.count >= 1024 + 0x68 + 16 else {
            throw CryptoError(.fileUnreadable, path: source, "too short for an ext4 superblock (\(bytes.count) bytes)")
        }
        let magic = UInt16(bytes[1024 + 0x38]) | UInt16(bytes[1024 + 0x39]) << 8
        guard magic == 0xef53 else {
            throw CryptoError(.fileUnreadable, path: source, "not an ext2/3/4 filesystem (superblock magic 0x\(String(magic, radix: 16)), expected 0xef53)")
        }
        let uuid = Array(bytes[(1024 + 0x68)..<(1024 + 0x68 + 16)])
        let h = Array(Hex.encode(uuid))
        let text = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(h[$0]) }.joined(separator: "-")
        return IMAFilesystemUUID(text)!
    }
}
