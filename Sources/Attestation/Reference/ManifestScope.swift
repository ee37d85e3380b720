/// How a measured file's digest is looked up in the provenance allowlist.
public enum ManifestScope: String, Sendable, Hashable, Codable {
    /// The digest must be listed for the very path measured. A path the
    /// manifests list is only accepted with one of its own digests.
    case samePath
    /// As `samePath` for listed paths; a path no manifest lists is accepted
    /// when its digest is listed anywhere (a known binary copied elsewhere).
    case anyPath
}
