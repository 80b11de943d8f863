import Foundation
import Testing
@testable import FioTrace

/// The public-trace importers against an independent count: awk over the same text.
@Suite struct PublicTraceTests {
    static let samples: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("traces/public").path
    }()

    /// awk programs printing "reads writes readBytes writeBytes spanNs" for each sample.
    static let cases: [(file: String, format: TraceFormat, awk: String)] = [
        ("msr-hm0.csv", .msr, #"-F, '{t=$1; if(NR==1||t<mn)mn=t; if(t>mx)mx=t; if($4=="Read"){r++;rb+=$6}else{w++;wb+=$6}} END{printf "%d %d %d %d %.0f\n",r,w,rb,wb,(mx-mn)*100}'"#),
        ("alibaba-block.csv", .alibaba, #"-F, '{t=$5; if(NR==1||t<mn)mn=t; if(t>mx)mx=t; if($2=="R"){r++;rb+=$4}else{w++;wb+=$4}} END{printf "%d %d %d %d %.0f\n",r,w,rb,wb,(mx-mn)*1000}'"#),
        ("tencent-cbs.csv", .tencent, #"-F, '{t=$1; if(NR==1||t<mn)mn=t; if(t>mx)mx=t; if($4==0){r++;rb+=$3*512}else{w++;wb+=$3*512}} END{printf "%d %d %d %d %.0f\n",r,w,rb,wb,(mx-mn)*1e9}'"#),
        ("spc-financial.csv", .spc, #"-F, '{t=$5; if(NR==1||t<mn)mn=t; if(t>mx)mx=t; if($4=="r"){r++;rb+=$3}else{w++;wb+=$3}} END{printf "%d %d %d %d %.0f\n",r,w,rb,wb,(mx-mn)*1e9}'"#),
        ("disksim.trace", .disksim, #"'{t=$1; if(NR==1||t<mn)mn=t; if(t>mx)mx=t; if($5%2==1){r++;rb+=$4*512}else{w++;wb+=$4*512}} END{printf "%d %d %d %d %.0f\n",r,w,rb,wb,(mx-mn)*1e6}'"#),
        ("mqsim.trace", .mqsim, #"'{t=$1; if(NR==1||t<mn)mn=t; if(t>mx)mx=t; if($5==1){r++;rb+=$4*512}else{w++;wb+=$4*512}} END{printf "%d %d %d %d %.0f\n",r,w,rb,wb,(mx-mn)}'"#),
        ("blkreplay.load", .blkreplay, #"-F';' '/^#/{next} {t=$1+0; if(n==0||t<mn)mn=t; if(t>mx)mx=t; n++; if($4 ~ /R/){r++;rb+=$3*512}else{w++;wb+=$3*512}} END{printf "%d %d %d %d %.0f\n",r,w,rb,wb,(mx-mn)*1e9}'"#),
    ]

    func awk(_ program: String, _ file: String) throws -> [Int64] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "awk \(program) '\(file)'"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").compactMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test(arguments: cases.indices)
    func importerAgreesWithAwk(_ i: Int) throws {
        let c = Self.cases[i]
        let path = Self.samples + "/" + c.file
        var source = try openTraceSource(path: path)
        #expect(source.metadata["source.format"] == c.format.rawValue, "detected \(source.metadata["source.format"] ?? "?")")
        let s = try TraceSummary.of(&source)
        let want = try awk(c.awk, path)
        #expect(want.count == 5, "awk printed \(want)")
        guard want.count == 5 else { return }
        #expect(Int64(s.ops[0].count) == want[0] && Int64(s.ops[1].count) == want[1], "\(c.file)")
        #expect(Int64(s.ops[0].bytes) == want[2] && Int64(s.ops[1].bytes) == want[3], "\(c.file)")
        // We parse exactly; awk computes in doubles (53 bits), which lose a few µs on
        // 17-digit filetimes and a few ns on decimal seconds.
        let tolerance = max(10, Int64(s.duration) / 100_000)
        #expect(abs(Int64(s.duration) - want[4]) <= tolerance, "\(c.file): span \(s.duration) vs awk \(want[4])")
        // Forcing the format gives the same; gzip and zstd copies too (detected by content).
        var forced = try openTraceSource(path: path, options: TraceOpenOptions(format: c.format))
        #expect(try TraceSummary.of(&forced).records == s.records)
        let dir = makeTempDir(); defer { cleanup(dir) }
        for (tool, ext) in [("gzip", "gz"), ("zstd", "zst")] {
            let z = "\(dir)/\(c.file).\(ext)"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "\(tool) -c < '\(path)' > '\(z)'"]
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(tool) is needed for this test")
            var zs = try openTraceSource(path: z)
            let zsum = try TraceSummary.of(&zs)
            #expect(zsum.records == s.records && zsum.dataBytes == s.dataBytes && zsum.duration == s.duration, "\(z)")
        }
    }

    @Test func unitsByHand() throws {
        // MSR: filetime ticks of 100 ns, response time in ticks, device = host_disk.
        let (msr, mf) = try readAll(path: Self.samples + "/msr-hm0.csv")
        #expect(mf.map(\.path) == ["hm_0", "hm_1"])
        #expect(msr[1] == TraceRecord(time: (128166385296107224 - 128166385295514663) * 100, op: .write, file: 0,
                                      offset: 4650897408, length: 8192, latency: 1_783_300))
        // Tencent: sectors and a 1 s clock, flagged as coarse.
        var t = try openTraceSource(path: Self.samples + "/tencent-cbs.csv")
        let tr = try readAll(&t)
        #expect(tr[0].offset == 1003027216 * 512 && tr[0].length == 16 * 512)
        #expect(tr[2].time == 1_000_000_000)
        #expect(t.metadata["time.coarse"] != nil)
        // blkreplay: decimal seconds exactly.
        let (bl, _) = try readAll(path: Self.samples + "/blkreplay.load")
        #expect(bl[1].time == 449732107 - 449518165)
        #expect(bl[0] .offset == 37766917 * 512 && bl[0].length == 14 * 512)
    }

    @Test func csvRoundTripKeepsEveryField() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let recs = randomRecords(3000, files: 2, seed: 31).map { r -> TraceRecord in var r = r; r.flags = TraceFlags(rawValue: r.flags.rawValue & 0x1f); return r }
        let w = try CSVTraceWriter(path: dir + "/t.csv")
        try w.define(file: TraceFile(path: "dev a"))
        try w.define(file: TraceFile(path: "dev b"))
        try w.write(recs)
        try w.finish()
        var src = try openTraceSource(path: dir + "/t.csv")
        let back = try readAll(&src)
        // The CSV keeps times as written (the reader does not rebase its own format) and
        // names files by path: the table is in order of first use.
        let names = ["dev a", "dev b"]
        #expect(back.count == recs.count)
        for (a, b) in zip(back, recs) {
            var a2 = a
            a2.file = b.file
            #expect(a2 == b)
            #expect(src.files[Int(a.file)].path == names[Int(b.file)])
        }
    }

    @Test func badLinesAreNamed() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        func expectError(_ text: String, _ format: TraceFormat?, _ contains: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let p = dir + "/bad-\(UUID().uuidString).txt"
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            do {
                _ = try readAll(path: p, options: TraceOpenOptions(format: format))
                Issue.record("no error", sourceLocation: sourceLocation)
            } catch let e as TraceError {
                #expect(e.message.contains(contains), "\(e.message)", sourceLocation: sourceLocation)
                #expect(e.message.contains(p), sourceLocation: sourceLocation)
            }
        }
        try expectError("10,hm,0,Read,0,512,1\n5,hm,0,Read,0,512,1\n", nil, ":2: time is before the first record's")
        try expectError("0,R,1,4096,100\n0,X,1,4096,200\n", .alibaba, ":2: operation \"X\" is neither read nor write")
        try expectError("0,R,1,4096,100\n0,R,1,4096\n", .alibaba, ":2: expected 5 comma-separated fields")
        try expectError("1538323199,1003027216,16,7,2313\n1538323199,1003027216,16,7,2313\n", .tencent, "IOType \"7\"")
        try expectError("1,hm,0,Read,0,512,1\n99999999999999999999,hm,0,Read,0,512,1\n", .msr, ":2: timestamp")
        try expectError("1,hm,0,Read,0,512,1\n922337203685477580,hm,0,Read,0,512,1\n", .msr, ":2: time is too far")
    }
}
