import Foundation
import Testing
@testable import FioTrace

/// The preload decoder's namespace events, made by hand in the library's wire layout.
@Suite struct PreloadNamespaceDecoderTests {
    func event(_ kind: UInt16, t0: UInt64, off: UInt64 = 0, len: UInt64 = 0, res: Int64 = 0,
               tid: UInt32 = 100, fd: Int32 = 3, path: [UInt8] = []) -> [UInt8] {
        var b: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        put(t0); put(t0 + 10); put(off); put(len); put(res); put(UInt32(100)); put(tid); put(fd); put(kind)
        put(UInt16(path.count))
        b += path
        while b.count % 8 != 0 { b.append(0) }
        return b
    }

    func decode(_ events: [[UInt8]], prefixes: [String] = []) -> ([TraceRecord], PreloadEventDecoder) {
        let d = PreloadEventDecoder(pathPrefixes: prefixes, windowNs: 1000)
        var out: [TraceRecord] = []
        for e in events {
            e.withUnsafeBytes { d.consume($0) }
            d.drain(into: &out)
        }
        d.closeAll()
        d.drain(into: &out, final: true)
        return (out, d)
    }

    /// An open that made the file, a write, a rename while open, a write after it, an unlink.
    @Test func renameMovesOpenDescriptorsToTheNewName() {
        let (out, d) = decode([
            event(3, t0: 100, len: 2, res: 0, path: Array("/d/a.tmp".utf8)),           // created
            event(8, t0: 200, len: 10, res: 10),
            event(20, t0: 300, res: 0, path: Array("/d/a.tmp".utf8) + [0] + Array("/d/a".utf8)),
            event(8, t0: 400, len: 5, res: 5),
            event(4, t0: 500),
            event(21, t0: 600, res: 0, path: Array("/d/a".utf8)),
            event(21, t0: 700, res: -2, path: Array("/d/gone".utf8)),                  // failed: nothing
        ])
        #expect(d.malformed == 0)
        #expect(d.files.map(\.path) == ["/d/a.tmp", "/d/a"])
        #expect(out.map { "\($0.op.fioName) \($0.file) \($0.offset) \($0.length)" } == [
            "add 0 0 0", "open 0 0 0", "write 0 0 10", "add 1 0 0", "rename 0 1 0",
            "write 1 10 5", "close 1 0 0", "unlink 1 0 0",
        ])
        #expect(out[1].flags == .created, "the open made the file")
        #expect(d.filesWithSizes.map(\.size) == [10, 15])
    }

    /// --paths keeps one side of a rename: a move out is an unlink, a move in a create.
    @Test func renameAcrossThePathFilter() {
        let (out, _) = decode([
            event(20, t0: 100, res: 0, path: Array("/keep/x".utf8) + [0] + Array("/other/x".utf8)),
            event(20, t0: 200, res: 0, path: Array("/other/y".utf8) + [0] + Array("/keep/y".utf8)),
            event(20, t0: 300, res: 0, path: Array("relative".utf8) + [0] + Array("/keep/z".utf8)),
        ], prefixes: ["/keep/"])
        #expect(out.map { "\($0.op.fioName) \($0.file)" } == ["add 0", "unlink 0", "add 1", "create 1"])
    }
}
