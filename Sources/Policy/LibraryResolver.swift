/// Finds, inside an image, the files the dynamic loader would map for a
/// program: its interpreter (PT_INTERP, symlinks followed inside the image)
/// and its DT_NEEDED libraries, searched as ld.so does: DT_RUNPATH (or
/// DT_RPATH) with `$ORIGIN`, the directories of /etc/ld.so.conf and its
/// includes, then the default directories. A candidate of another ELF class
/// or machine is skipped, as ld.so skips it.
struct LibraryResolver {
    let root: ImageRoot
    /// Image-relative directories searched after the file's own search path.
    let directories: [String]
    private var headers: [String: ELFDependencies?] = [:]

    static let defaultDirectories = [
        "lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "usr/lib64", "lib", "usr/lib",
    ]

    init(root: ImageRoot) {
        self.root = root
        var dirs = Self.configuredDirectories(root)
        for d in Self.defaultDirectories where !dirs.contains(d) { dirs.append(d) }
        directories = dirs
    }

    /// The interpreter a program names, as a path inside the image (nil when it is not there).
    func interpreter(_ deps: ELFDependencies) -> String? {
        guard let interp = deps.interpreter else { return nil }
        guard let resolved = root.resolve(interp), root.isRegularFile(resolved) else { return nil }
        return resolved
    }

    /// The image path of library `name` needed by the file at image path `by`.
    mutating func library(_ name: String, neededBy by: String, _ deps: ELFDependencies) -> String? {
        if name.contains("/") {
            return root.resolve(name).flatMap { root.isRegularFile($0) ? $0 : nil }
        }
        let origin = by.split(separator: "/").dropLast().joined(separator: "/")
        let own = deps.searchPath.map {
            $0.replacing("${ORIGIN}", with: "/" + origin).replacing("$ORIGIN", with: "/" + origin)
        }
        for dir in own + directories {
            guard let resolved = root.resolve("\(dir)/\(name)"), root.isRegularFile(resolved) else { continue }
            guard let header = header(resolved) else { continue }
            if header.elfClass == deps.elfClass && header.machine == deps.machine { return resolved }
        }
        return nil
    }

    /// Everything `start` needs, transitively (breadth first, at most `limit`
    /// files): (needed name, image path, needed by).
    mutating func closure(of start: String, _ deps: ELFDependencies, limit: Int = 256)
        -> [(name: String, path: String, by: String)] {
        var out: [(name: String, path: String, by: String)] = []
        var seen: Set<String> = [start]
        var queue: [(String, ELFDependencies)] = [(start, deps)]
        while !queue.isEmpty, out.count < limit {
            let (path, d) = queue.removeFirst()
            for name in d.needed {
                guard let lib = library(name, neededBy: path, d), seen.insert(lib).inserted else { continue }
                out.append((name, lib, path))
                if let h = header(lib) { queue.append((lib, h)) }
            }
        }
        return out
    }

    private mutating func header(_ path: String) -> ELFDependencies? {
        if let cached = headers[path] { return cached }
        let parsed = try? ELFReader.dependencies(path: root.host(path))
        headers[path] = parsed
        return parsed
    }

    /// Directories listed in the image's /etc/ld.so.conf (following `include`
    /// globs of the form dir/*.conf, up to 4 levels), image-relative.
    static func configuredDirectories(_ root: ImageRoot) -> [String] {
        var dirs: [String] = []
        func read(_ path: String, depth: Int) {
            guard depth < 4, let text = root.readText(path, limit: 64 * 1024) else { return }
            for raw in text.split(separator: "\n") {
                let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first
                    .map { $0.trimmingCharacters(in: [" ", "\t", "\r"]) } ?? ""
                if line.isEmpty { continue }
                if line.hasPrefix("include") {
                    for pattern in line.dropFirst("include".count).split(separator: " ") {
                        for file in expand(String(pattern)) { read(file, depth: depth + 1) }
                    }
                } else if line.hasPrefix("/") {
                    let dir = String(line.drop { $0 == "/" })
                    if !dir.isEmpty, !dirs.contains(dir) { dirs.append(dir) }
                }
            }
        }
        func expand(_ pattern: String) -> [String] {
            let p = pattern.hasPrefix("/") ? String(pattern.dropFirst()) : "etc/" + pattern
            guard let star = p.firstIndex(of: "*") else { return [p] }
            let dir = String(p[..<star]).split(separator: "/").joined(separator: "/")
            let prefixInName = p[..<star].split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
            let dirPath = p[..<star].hasSuffix("/") ? dir : String(dir.split(separator: "/").dropLast().joined(separator: "/"))
            let suffix = String(p[p.index(after: star)...])
            return root.list(dirPath).filter { $0.hasPrefix(prefixInName) && $0.hasSuffix(suffix) }.map { "\(dirPath)/\($0)" }
        }
        read("etc/ld.so.conf", depth: 0)
        return dirs
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String { String(self).trimmingCharacters(in: set) }
}
