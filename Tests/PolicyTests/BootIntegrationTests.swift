import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport
@testable import Policy

/// The pieces `image prepare` and `policy check` decide with, on small trees
/// made here: symlinks inside an image, kernel support for certificates, where
/// the boot files come from and how they are copied, what loads the keys.
final class BootIntegrationTests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = makeTempDir("signet-policy-tests") }

    func mode(_ path: String) -> Int {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0, path)
        return Int(st.st_mode & 0o7777)
    }

    // MARK: - ImageRoot

    func testSymlinksResolveInsideTheImageNotOnTheHost() throws {
        dir.write("root/usr/lib/systemd/systemd", "pid1", mode: 0o755)
        dir.mkdir("root/sbin-real")
        let root = ImageRoot(dir.url("root"))
        XCTAssertEqual(symlink("usr/lib", dir.url("root/lib")), 0)
        XCTAssertEqual(symlink("usr/sbin", dir.url("root/sbin")), 0)
        dir.mkdir("root/usr/sbin")
        // Absolute: must start again at the image root, never at the host's /lib/systemd.
        XCTAssertEqual(symlink("/lib/systemd/systemd", dir.url("root/usr/sbin/init")), 0)
        XCTAssertEqual(root.resolve("sbin/init"), "usr/lib/systemd/systemd")
        XCTAssertEqual(root.resolve("/lib/systemd/systemd"), "usr/lib/systemd/systemd")
        // `..` cannot leave the image.
        XCTAssertEqual(symlink("../../../../../usr/lib/systemd/systemd", dir.url("root/usr/sbin/up")), 0)
        XCTAssertEqual(root.resolve("usr/sbin/up"), "usr/lib/systemd/systemd")
        // Loops and dangling links resolve to nothing.
        XCTAssertEqual(symlink("loop2", dir.url("root/loop1")), 0)
        XCTAssertEqual(symlink("loop1", dir.url("root/loop2")), 0)
        XCTAssertNil(root.resolve("loop1"))
        XCTAssertEqual(symlink("/nowhere", dir.url("root/dangling")), 0)
        XCTAssertNil(root.resolve("dangling"))
        XCTAssertFalse(root.exists("dangling"))
    }

    // MARK: - Kernel support for the certificates

    static let goodConfig = """
        # Linux/x86 6.1.0 Kernel Configuration
        CONFIG_IMA=y
        CONFIG_IMA_APPRAISE=y
        CONFIG_INTEGRITY_ASYMMETRIC_KEYS=y
        # CONFIG_INTEGRITY_TRUSTED_KEYRING is not set
        CONFIG_CRYPTO_RSA=y
        CONFIG_CRYPTO_ECDSA=m

        """

    func testAnECDSACertificateNeedsAKernelWithECDSA() throws {
        let rsa = try KeyFixture(in: dir, name: "rsa")
        let ec = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "ec")
        let with = KernelConfig(version: "6.12.12-amd64", text: Self.goodConfig)
        let without = KernelConfig(version: "6.1.0-28-amd64", text: Self.goodConfig.replacingOccurrences(of: "CONFIG_CRYPTO_ECDSA=m", with: "# CONFIG_CRYPTO_ECDSA is not set"))
        XCTAssertTrue(with.has("CONFIG_CRYPTO_ECDSA"))
        XCTAssertFalse(without.has("CONFIG_CRYPTO_ECDSA"))
        XCTAssertFalse(without.has("CONFIG_INTEGRITY_TRUSTED_KEYRING"))

        XCTAssertEqual(CertificateSupport.problems(certificates: [rsa.certificate, ec.certificate], kernels: [with]), [])
        let problems = CertificateSupport.problems(certificates: [rsa.certificate, ec.certificate], kernels: [with, without])
        XCTAssertEqual(problems.map(\.id), [.kernelLacksKeyType])
        XCTAssertEqual(problems[0].severity, .failure)
        let text = problems[0].description
        for part in ["FAIL [kernel-lacks-key-type]", ec.certificate.source, "ECDSA P-256", "6.1.0-28-amd64", "CONFIG_CRYPTO_ECDSA"] {
            XCTAssertTrue(text.contains(part), "\(part) missing in: \(text)")
        }
        // RSA needs CONFIG_CRYPTO_RSA.
        let noRSA = KernelConfig(version: "6.1.0", text: Self.goodConfig.replacingOccurrences(of: "CONFIG_CRYPTO_RSA=y", with: ""))
        XCTAssertEqual(CertificateSupport.problems(certificates: [rsa.certificate], kernels: [noRSA]).map(\.id), [.kernelLacksKeyType])
    }

    func testNoCertificatesNoConfigAndTrustedKeyring() throws {
        let rsa = try KeyFixture(in: dir, name: "rsa")
        let kernel = KernelConfig(version: "6.1.0", text: Self.goodConfig)
        let none = CertificateSupport.problems(certificates: [], kernels: [kernel])
        XCTAssertEqual(none.map(\.id), [.noCertificates])
        XCTAssertEqual(none[0].severity, .failure)
        XCTAssertEqual(CertificateSupport.problems(certificates: [], kernels: [kernel], appraises: false).map(\.severity), [.warning])
        let unknown = CertificateSupport.problems(certificates: [rsa.certificate], kernels: [])
        XCTAssertEqual(unknown.map(\.id), [.noKernelConfig])
        XCTAssertEqual(unknown[0].severity, .warning)
        let trusted = KernelConfig(version: "6.1.0", text: Self.goodConfig + "CONFIG_INTEGRITY_TRUSTED_KEYRING=y\n")
        let t = CertificateSupport.problems(certificates: [rsa.certificate], kernels: [trusted])
        XCTAssertEqual(t.map(\.id), [.trustedKeyring])
        XCTAssertTrue(t[0].message.contains(rsa.certificate.issuer), t[0].message)
        let noAppraisal = KernelConfig(version: "5.10.0", text: "CONFIG_CRYPTO_RSA=y\n")
        XCTAssertEqual(CertificateSupport.problems(certificates: [rsa.certificate], kernels: [noAppraisal]).map(\.id), [.kernelLacksSignatures])
        XCTAssertEqual(CertificateSupport.problems(certificates: [rsa.certificate], kernels: [noAppraisal], appraises: false), [])
    }

    func testKernelConfigsAreReadFromTheImagesBoot() throws {
        dir.write("root/boot/config-6.1.0-28-amd64", Self.goodConfig)
        dir.write("root/boot/config-6.12.12-amd64", "CONFIG_CRYPTO_RSA=y\n")
        dir.write("root/boot/vmlinuz-6.1.0-28-amd64", "kernel")
        let configs = KernelConfig.inImage(ImageRoot(dir.url("root")))
        XCTAssertEqual(configs.map(\.version), ["6.1.0-28-amd64", "6.12.12-amd64"])
        XCTAssertEqual(configs[0].options["CONFIG_CRYPTO_ECDSA"], "m")
        XCTAssertNil(configs[1].options["CONFIG_CRYPTO_ECDSA"])
    }

    // MARK: - Where the boot files come from

    func testBootFilesSourceOrder() throws {
        dir.mkdir("option")
        dir.mkdir("data/image-boot")
        dir.mkdir("prefix/share/signet/image-boot")
        dir.write("prefix/bin/signet", "exe", mode: 0o755)
        dir.mkdir("checkout/dist/signet-root")
        dir.write("checkout/.build/debug/signet", "exe", mode: 0o755)

        let all = BootFilesSource.candidates(option: dir.url("option"), dataDirectory: dir.url("data"), executable: dir.url("prefix/bin/signet"))
        XCTAssertEqual(Array(all.prefix(3)).map(\.directory),
                       [dir.url("option"), dir.url("data/image-boot"), dir.url("prefix/bin/../share/signet/image-boot").replacingOccurrences(of: "/bin/..", with: "")])
        XCTAssertEqual(all[3].directory, dir.url("prefix/bin/dist/signet-root"))

        XCTAssertEqual(try BootFilesSource.resolve(option: dir.url("option"), dataDirectory: dir.url("data"), executable: nil).directory, dir.url("option"))
        XCTAssertEqual(try BootFilesSource.resolve(option: nil, dataDirectory: dir.url("data"), executable: dir.url("prefix/bin/signet")).directory, dir.url("data/image-boot"))
        XCTAssertEqual(try BootFilesSource.resolve(option: nil, dataDirectory: nil, executable: dir.url("prefix/bin/signet")).directory, dir.url("prefix/share/signet/image-boot"))
        XCTAssertEqual(try BootFilesSource.resolve(option: nil, dataDirectory: dir.url("nodata"), executable: dir.url("checkout/.build/debug/signet")).directory,
                       dir.url("checkout/dist/signet-root"))
        // An explicit --boot-files that is not there is an error naming it, not a fallback.
        XCTAssertThrowsError(try BootFilesSource.resolve(option: dir.url("missing"), dataDirectory: dir.url("data"), executable: nil)) {
            XCTAssertTrue("\($0)".contains("--boot-files \(dir.url("missing"))"), "\($0)")
        }
    }

    /// A source tree like dist/signet-root: the boot files, plus files that are not ours to copy.
    func makeSource(_ name: String = "src", dracut: Bool = true) {
        dir.write("\(name)/usr/share/initramfs-tools/hooks/signet", "#!/bin/sh\n# hook\n", mode: 0o755)
        dir.write("\(name)/usr/share/initramfs-tools/scripts/init-bottom/signet", "#!/bin/sh\n# boot\n", mode: 0o755)
        if dracut {
            dir.write("\(name)/usr/lib/dracut/modules.d/98signet/module-setup.sh", "#!/bin/bash\ncheck() { return 0; }\n", mode: 0o755)
            dir.write("\(name)/usr/lib/dracut/modules.d/98signet/signet-load-keys.sh", "#!/bin/sh\n", mode: 0o755)
            dir.write("\(name)/usr/lib/dracut/modules.d/98signet/README", "notes", mode: 0o644)
        }
        dir.write("\(name)/usr/lib/signet/load-keys", "#!/bin/sh\n# loader\n", mode: 0o755)
        dir.write("\(name)/usr/lib/signet/ima-init", "#!/bin/sh\n# init\n", mode: 0o755)
        // Not boot integration: never copied into an image.
        dir.write("\(name)/usr/share/initramfs-tools/hooks/other", "#!/bin/sh\n", mode: 0o755)
        dir.write("\(name)/lib/systemd/system/signet-agent.service", "[Unit]\n")
        dir.write("\(name)/etc/signet/signet.conf", "x")
    }

    func testInstallerCopiesTheBootFilesWithTheirModesAndCanUndoIt() throws {
        makeSource()
        dir.write("image/usr/sbin/update-initramfs", "#!/bin/sh\n", mode: 0o755)
        dir.write("image/usr/lib/signet/load-keys", "old loader", mode: 0o700)   // replaced, then restored
        let image = ImageRoot(dir.url("image"))
        let installer = BootFilesInstaller(source: ImageRoot(dir.url("src")), image: image)
        XCTAssertEqual(Set(try installer.plan(for: [.initramfsTools])), [
            "usr/share/initramfs-tools/hooks/signet", "usr/share/initramfs-tools/scripts/init-bottom/signet",
            "usr/lib/dracut/modules.d/98signet/module-setup.sh", "usr/lib/dracut/modules.d/98signet/signet-load-keys.sh",
            "usr/lib/dracut/modules.d/98signet/README", "usr/lib/signet/load-keys", "usr/lib/signet/ima-init",
        ])
        let done = try installer.install(for: [.initramfsTools, .dracut])
        XCTAssertEqual(mode(dir.url("image/usr/share/initramfs-tools/hooks/signet")), 0o755)
        XCTAssertEqual(mode(dir.url("image/usr/lib/dracut/modules.d/98signet/README")), 0o644)
        XCTAssertEqual(mode(dir.url("image/usr/lib/signet/load-keys")), 0o755)
        XCTAssertEqual(try FileBytes.read(dir.url("image/usr/lib/signet/load-keys")), Array("#!/bin/sh\n# loader\n".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("image/usr/share/initramfs-tools/hooks/other")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("image/etc/signet")))
        XCTAssertEqual(String(decoding: try FileBytes.read(dir.url("image/etc/dracut.conf.d/signet.conf")), as: UTF8.self), BootIntegration.dracutConfigText)
        XCTAssertTrue(BootIntegration.isInstalled(for: .initramfsTools, in: image))
        XCTAssertTrue(BootIntegration.isInstalled(for: .dracut, in: image))
        XCTAssertTrue(BootIntegration.dracutModuleEnabled(in: image))
        // Installing again changes nothing.
        XCTAssertEqual(try installer.install(for: [.initramfsTools, .dracut]).written, [])

        installer.rollback(done)
        XCTAssertEqual(try FileBytes.read(dir.url("image/usr/lib/signet/load-keys")), Array("old loader".utf8))
        XCTAssertEqual(mode(dir.url("image/usr/lib/signet/load-keys")), 0o700)
        for gone in ["usr/share/initramfs-tools", "usr/lib/dracut", "etc/dracut.conf.d", "etc", "usr/lib/signet/ima-init"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("image/\(gone)")), gone)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.url("image/usr/sbin/update-initramfs")))
    }

    func testInstallerRefusesASourceWithoutWhatTheBuilderNeeds() throws {
        makeSource(dracut: false)
        let installer = BootFilesInstaller(source: ImageRoot(dir.url("src")), image: ImageRoot(dir.url("image")))
        XCTAssertNoThrow(try installer.plan(for: [.initramfsTools]))
        XCTAssertThrowsError(try installer.install(for: [.dracut])) {
            XCTAssertTrue("\($0)".contains("usr/lib/dracut/modules.d/98signet/module-setup.sh"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("image")), "nothing written")
        let empty = BootFilesInstaller(source: ImageRoot(dir.url("nothing")), image: ImageRoot(dir.url("image")))
        XCTAssertThrowsError(try empty.plan(for: []))
        // Never writes through a symlink in the image (it would point into this machine).
        dir.mkdir("image/usr")
        XCTAssertEqual(symlink("/tmp", dir.url("image/usr/lib")), 0)
        XCTAssertThrowsError(try installer.install(for: [.initramfsTools])) {
            XCTAssertTrue("\($0)".contains("not a directory"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("image/usr/share/initramfs-tools/hooks/signet")), "rolled back")
    }

    // MARK: - What loads the keys

    func testBuildersAndPackageOwnership() throws {
        let root = ImageRoot(dir.url("root"))
        XCTAssertEqual(InitramfsBuilder.installed(in: root), [])
        dir.write("root/usr/sbin/mkinitramfs", "#!/bin/sh\n", mode: 0o755)
        XCTAssertEqual(InitramfsBuilder.installed(in: root), [.initramfsTools])
        dir.write("root/usr/bin/dracut", "#!/bin/sh\n", mode: 0o755)
        XCTAssertEqual(InitramfsBuilder.installed(in: root), [.dracut, .initramfsTools])
        XCTAssertFalse(BootIntegration.installedByPackage(in: root))
        dir.write("root/var/lib/dpkg/info/signet.list", "/.\n/usr\n/usr/share/initramfs-tools/hooks/signet\n")
        XCTAssertTrue(BootIntegration.installedByPackage(in: root))
    }

    func testListingsThatCarryTheIntegration() {
        XCTAssertTrue(BootIntegration.initramfsListingHasIntegration([".", "scripts", "scripts/init-bottom/signet"], builder: .initramfsTools))
        XCTAssertTrue(BootIntegration.initramfsListingHasIntegration(["./scripts/init-bottom/signet"], builder: nil))
        XCTAssertFalse(BootIntegration.initramfsListingHasIntegration(["scripts/init-bottom/udev", "usr/bin/keyctl"], builder: .initramfsTools))
        XCTAssertTrue(BootIntegration.initramfsListingHasIntegration(["usr/lib/dracut/hooks/pre-pivot/50-signet.sh"], builder: .dracut))
        XCTAssertFalse(BootIntegration.initramfsListingHasIntegration(["usr/lib/dracut/hooks/pre-pivot/50-other.sh"], builder: .dracut))
    }

    func testKeyLoaderProblems() throws {
        let root = ImageRoot(dir.url("root"))
        let policyLoaded: (String) -> Initramfs.Listing = { _ in .paths(["scripts/init-bottom/udev"]) }
        // No builder, no integration, no initramfs.
        var p = ImageSafety.keyLoaderProblems(root: root, policyAppraises: true, list: policyLoaded)
        XCTAssertEqual(p.map(\.id), [.noKeyLoader])
        XCTAssertTrue(p[0].description.hasPrefix("FAIL [no-key-loader] /etc/ima/ima-policy appraises"), p[0].description)
        XCTAssertEqual(ImageSafety.keyLoaderProblems(root: root, policyAppraises: false, list: policyLoaded), [])

        // initramfs-tools without the hook, an initramfs without our script.
        dir.write("root/usr/sbin/update-initramfs", "#!/bin/sh\n", mode: 0o755)
        dir.write("root/boot/initrd.img-6.1.0", "cpio")
        p = ImageSafety.keyLoaderProblems(root: root, policyAppraises: true, list: policyLoaded)
        XCTAssertEqual(p.map(\.id), [.noKeyLoader])
        XCTAssertTrue(p[0].message.contains("/usr/share/initramfs-tools/hooks/signet"), p[0].message)

        // An initramfs that carries the loader (built elsewhere) is enough for this boot; the next rebuild drops it.
        p = ImageSafety.keyLoaderProblems(root: root, policyAppraises: true, list: { _ in .paths(["scripts/init-bottom/signet"]) })
        XCTAssertEqual(p.map(\.id), [.integrationNotInstalled])
        XCTAssertEqual(p[0].severity, .warning)

        // The hook installed, the initramfs not regenerated: stale.
        makeSource()
        _ = try BootFilesInstaller(source: ImageRoot(dir.url("src")), image: root).install(for: [.initramfsTools])
        p = ImageSafety.keyLoaderProblems(root: root, policyAppraises: true, list: policyLoaded)
        XCTAssertEqual(p.map(\.id), [.staleInitramfs])
        XCTAssertTrue(p[0].message.contains("boot/initrd.img-6.1.0") && p[0].message.contains("regenerate"), p[0].message)
        // Carried, but older than the hook files: stale too.
        var old = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, dir.url("root/boot/initrd.img-6.1.0"), &old, 0), 0)
        p = ImageSafety.keyLoaderProblems(root: root, policyAppraises: true, list: { _ in .paths(["scripts/init-bottom/signet"]) })
        XCTAssertEqual(p.map(\.id), [.staleInitramfs])
        XCTAssertTrue(p[0].message.contains("older"), p[0].message)
        // Cannot look inside: a warning, and the file times decide.
        p = ImageSafety.keyLoaderProblems(root: root, policyAppraises: true, list: { _ in .unavailable("no lsinitramfs") })
        XCTAssertEqual(p.map(\.id), [.initramfsUnreadable, .staleInitramfs])
        XCTAssertEqual(p.map(\.severity), [.warning, .failure])
        XCTAssertTrue(p[0].message.contains("could not look inside boot/initrd.img-6.1.0"), p[0].message)
        let t = time(nil) + 10
        var now = [timespec(tv_sec: t, tv_nsec: 0), timespec(tv_sec: t, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, dir.url("root/boot/initrd.img-6.1.0"), &now, 0), 0)
        p = ImageSafety.keyLoaderProblems(root: root, policyAppraises: true, list: { _ in .paths(["scripts/init-bottom/signet"]) })
        XCTAssertEqual(p, [])
        // No initramfs at all: the one booted must come from elsewhere (a warning).
        unlink(dir.url("root/boot/initrd.img-6.1.0"))
        XCTAssertEqual(ImageSafety.keyLoaderProblems(root: root, policyAppraises: true, list: policyLoaded).map(\.id), [.noInitramfs])
    }

    func testDracutNeedsTheModuleEnabled() throws {
        let root = ImageRoot(dir.url("root"))
        dir.write("root/usr/bin/dracut", "#!/bin/sh\n", mode: 0o755)
        dir.write("root/usr/lib/dracut/modules.d/98signet/module-setup.sh", "#!/bin/bash\n", mode: 0o755)
        XCTAssertFalse(BootIntegration.isInstalled(for: .dracut, in: root))
        XCTAssertEqual(ImageSafety.keyLoaderProblems(root: root, policyAppraises: true).map(\.id), [.noKeyLoader])
        dir.write("root/etc/dracut.conf.d/10-other.conf", "# add_dracutmodules+=\" signet \"\nadd_dracutmodules+=\" crypt \"\n")
        XCTAssertFalse(BootIntegration.dracutModuleEnabled(in: root))
        dir.write("root/etc/dracut.conf.d/signet.conf", BootIntegration.dracutConfigText)
        XCTAssertTrue(BootIntegration.isInstalled(for: .dracut, in: root))
        XCTAssertEqual(ImageSafety.keyLoaderProblems(root: root, policyAppraises: true).map(\.id), [.noInitramfs])
    }
}
