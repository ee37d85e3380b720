/// The release version both executables report (`--version`) and `signet sign` records in manifests.
package let signetVersion = "0.1.0"
