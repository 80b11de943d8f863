import FioReplay
import FioTrace
import Testing

/// `--map` with a directory prefix (issue 13): files under the directory go to the same
/// place under the new one; the longest prefix wins; a name that merely starts with the
/// directory's name is not under it.
@Suite struct DirectoryMapTests {
    @Test func directoryPrefixesMapFilesBeneathThem() {
        let m = TargetMapping(map: ["/var/lib/app": "/mnt/copy/app", "/var/lib/app/logs/": "/mnt/logs", "/var/lib/x.db": "/tmp/x.db"])
        let cases: [(String, String)] = [
            ("/var/lib/app/db", "/mnt/copy/app/db"),
            ("/var/lib/app/sub/dir/f", "/mnt/copy/app/sub/dir/f"),
            ("/var/lib/app/", "/mnt/copy/app/"),          // the directory itself, as recorded
            ("/var/lib/app/logs/a.log", "/mnt/logs/a.log"), // longest prefix
            ("/var/lib/apple/f", "/var/lib/apple/f"),       // not under /var/lib/app
            ("/var/lib/x.db", "/tmp/x.db"),                 // exact file entry
        ]
        for (i, (from, to)) in cases.enumerated() {
            let f = TraceFile(path: from)
            #expect(m.path(for: f, index: i) == to, "\(from)")
            #expect(m.usesTracePath(for: f, index: i) == (from == to), "\(from)")
        }
        // A directory key holding some trace file is matched; one holding none is not.
        #expect(m.unmatchedKeys(files: [TraceFile(path: "/var/lib/app/db"), TraceFile(path: "/var/lib/x.db")]) == ["/var/lib/app/logs/"])
    }
}
