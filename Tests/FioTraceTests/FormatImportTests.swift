import Foundation
import Testing
@testable import FioTrace

/// The readers of the peers' formats and the public traces added with them, against an
/// independent reading of the same files (awk over the text; blkreplay's own dry run;
/// btrecord's own dump of what it wrote), from plain, gzip and zstd files, detected by
/// content.
@Suite struct FormatImportTests {
    static let publicDir = sampleTraces + "/public"

    /// Runs a shell command; its stdout. A failing command fails the test.
    @discardableResult
    static func sh(_ cmd: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", cmd]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(cmd) exited with \(p.terminationStatus)", sourceLocation: sourceLocation)
        return String(decoding: data, as: UTF8.self)
    }

    static func numbers(_ s: String) -> [Int64] {
        s.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int64($0) }
    }

    /// Plain, gzip and zstd copies of a sample (which may itself be gzipped).
    static func copies(_ path: String, in dir: String) throws -> [String] {
        let name = URL(fileURLWithPath: path).lastPathComponent.replacingOccurrences(of: ".gz", with: "")
        let plain = dir + "/" + name
        try sh("gzip -dcf < '\(path)' > '\(plain)' && gzip -c < '\(plain)' > '\(plain).gz' && zstd -q -c < '\(plain)' > '\(plain).zst'")
        return [plain, plain + ".gz", plain + ".zst"]
    }

    /// Each sample: its format, and an awk program over its plain text printing
    /// "reads writes readBytes writeBytes spanNs".
    static let cases: [(file: String, format: TraceFormat, awk: String)] = [
        // FIU: the R/W field is 4th from the end (the process name may hold spaces).
        ("fiu-sample.trace", .fiu, #"'{n=NF; t=$1; if(NR==1||t<mn)mn=t; if(t>mx)mx=t; s=$(n-4)*512; if($(n-3)=="R"){r++;rb+=s}else{w++;wb+=s}} END{printf "%d %d %.0f %.0f %.0f\n",r,w,rb,wb,mx-mn}'"#),
        // SystOR: integer seconds and the 9-digit fraction apart (doubles lose ns); a blank IOType is skipped.
        ("systor17-sample.csv", .systor, #"-F, 'NR>1 && $3!="" {split($1,a,"."); t=(a[1]-1456135200)*1000000000+a[2]; if(n==0||t<mn)mn=t; if(t>mx)mx=t; n++; if($3=="R"){r++;rb+=$6}else{w++;wb+=$6}} END{printf "%d %d %.0f %.0f %.0f\n",r,w,rb,wb,mx-mn}'"#),
        // hfplayer: ELAPSED_USECS with 3 decimals, OP 0/1, NBLKS sectors.
        ("hfplayer-sample.csv", .hfplayer, #"-F, '!/^#/ {split($2,a,"."); t=a[1]*1000+a[2]; if(n==0||t<mn)mn=t; if(t>mx)mx=t; n++; if($9==0){r++;rb+=$12*512}else{w++;wb+=$12*512}} END{printf "%d %d %.0f %.0f %.0f\n",r,w,rb,wb,mx-mn}'"#),
        // blkreplay as shipped: only lines that start with a number, then ";", are requests.
        ("blkreplay-windows-shared-server.load.gz", .blkreplay, #"-F';' '$1 ~ /^ *[0-9]+\.[0-9]+ *$/ && NF>=4 {split($1,a,"."); t=a[1]*1000000000+a[2]; if(n==0||t<mn)mn=t; if(t>mx)mx=t; n++; o=$4; gsub(/ /,"",o); if(o ~ /^[Rr]/){r++;rb+=$3*512}else{w++;wb+=$3*512}} END{printf "%d %d %.0f %.0f %.0f\n",r,w,rb,wb,mx-mn}'"#),
    ]

    @Test(arguments: cases.indices)
    func importAgreesWithAwk(_ i: Int) throws {
        let c = Self.cases[i]
        let dir = makeTempDir(); defer { cleanup(dir) }
        let files = try Self.copies(Self.publicDir + "/" + c.file, in: dir)
        let want = Self.numbers(try Self.sh("awk \(c.awk) '\(files[0])'"))
        try #require(want.count == 5, "awk printed \(want)")
        #expect(want[0] + want[1] > 100, "\(c.file): the sample is too small to say much")
        for f in files {
            var s = try openTraceSource(path: f)
            #expect(s.metadata["source.format"] == c.format.rawValue, "\(f): detected \(s.metadata["source.format"] ?? "?")")
            let sum = try TraceSummary.of(&s)
            #expect(Int64(sum.ops[0].count) == want[0] && Int64(sum.ops[1].count) == want[1], "\(f): op counts")
            #expect(Int64(sum.ops[0].bytes) == want[2] && Int64(sum.ops[1].bytes) == want[3], "\(f): bytes")
            #expect(Int64(sum.duration) == want[4], "\(f): span \(sum.duration) vs awk \(want[4])")
            #expect(sum.records == sum.dataIOs)
        }
    }

    @Test func fiuKeepsPidsAndProcessNames() throws {
        let path = Self.publicDir + "/fiu-sample.trace"
        var s = try openTraceSource(path: path)
        let recs = try readAll(&s)
        // awk: the pid and name of every line, in order.
        let lines = try Self.sh("awk '{print $2, $3}' '\(path)'").split(separator: "\n")
        #expect(recs.count == lines.count)
        #expect(recs.map { String($0.stream ?? 0) } == lines.map { String($0.split(separator: " ")[0]) })
        let table = try #require(ProcessNames.parse(s.metadata["process.names"] ?? ""))
        let want = try Self.sh("awk '!seen[$2\" \"$3]++ {print $2, $3}' '\(path)'").split(separator: "\n").map(String.init)
        #expect(table.map { "\($0.pid) \($0.name)" } == want)
        #expect(s.files.map(\.device) == [DeviceNumber(major: 8, minor: 0)])
        #expect(s.files.map(\.path) == ["8:0"])

        // A name with spaces, several devices, a read.
        let dir = makeTempDir(); defer { cleanup(dir) }
        try """
        1000 42 Web Content 96 8 R 8 16 0123456789abcdef0123456789abcdef
        2000 7 mysqld 200 16 W 6 0 fedcba9876543210fedcba9876543210

        """.write(toFile: dir + "/t.fiu", atomically: true, encoding: .utf8)
        let (r, f) = try readAll(path: dir + "/t.fiu")
        #expect(r == [TraceRecord(time: 0, op: .read, file: 0, offset: 96 * 512, length: 4096, stream: 42),
                      TraceRecord(time: 1000, op: .write, file: 1, offset: 200 * 512, length: 8192, stream: 7)])
        #expect(f.map(\.device) == [DeviceNumber(major: 8, minor: 16), DeviceNumber(major: 6, minor: 0)])
        var src = try openTraceSource(path: dir + "/t.fiu")
        _ = try readAll(&src)
        #expect(src.metadata["process.names"] == "42 Web Content\n7 mysqld")
    }

    @Test func systorLatencyAndSkippedUnknownTypes() throws {
        let path = Self.publicDir + "/systor17-sample.csv"
        var s = try openTraceSource(path: path)
        let recs = try readAll(&s)
        // Response (s, 9 digits) as ns, per line with a type.
        let want = try Self.sh(#"awk -F, 'NR>1 && $3!="" {split($2,a,"."); print a[1]*1000000000+a[2]}' "# + "'\(path)'")
        #expect(recs.map { Int64($0.latency ?? 0) } == Self.numbers(want))
        #expect(s.metadata["systor.unknown_type_skipped"] == (try Self.sh(#"awk -F, 'NR>1 && $3=="" {n++} END{print n}' "# + "'\(path)'")).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(s.files.map(\.path) == ["0"])
    }

    @Test func hfplayerDepthAndLatency() throws {
        let path = Self.publicDir + "/hfplayer-sample.csv"
        var s = try openTraceSource(path: path)
        let recs = try readAll(&s)
        let depth = Self.numbers(try Self.sh("awk -F, '!/^#/ {print $5+1}' '\(path)'"))
        let latency = Self.numbers(try Self.sh(#"awk -F, '!/^#/ {split($16,a,"."); print a[1]*1000+a[2]}' "# + "'\(path)'"))
        #expect(recs.map { Int64($0.depth ?? 0) } == depth)
        #expect(recs.map { Int64($0.latency ?? 0) } == latency)
        #expect(recs.allSatisfy { $0.stream == 7 })
        #expect(s.files.map(\.path) == ["5"])
        // Without its header the default 16 columns are assumed (still detected).
        let dir = makeTempDir(); defer { cleanup(dir) }
        try Self.sh("grep -v '^#' '\(path)' > '\(dir)/noheader.csv'")
        var n = try openTraceSource(path: dir + "/noheader.csv")
        #expect(n.metadata["source.format"] == "hfplayer")
        #expect(try readAll(&n) == recs)
    }

    /// blkreplay's own reading of the load: a dry run prints every request it parsed
    /// (`orig_start ; sector ; length ; op ; delay ; duration`) and its totals.
    @Test func blkreplayLoadAgreesWithBlkreplay() throws {
        let exe = "/usr/bin/blkreplay"
        #expect(FileManager.default.isExecutableFile(atPath: exe), "blkreplay is needed (scripts/setup.sh installs it)")
        guard FileManager.default.isExecutableFile(atPath: exe) else { return }
        let dir = makeTempDir(); defer { cleanup(dir) }
        let load = Self.publicDir + "/blkreplay-windows-shared-server.load.gz"
        try Self.sh("truncate -s 4G '\(dir)/target'")
        let out = try Self.sh("gzip -dc '\(load)' | \(exe) --dry-run --fake-io --start-grace=0 --speedup=100000 '\(dir)/target' 2>&1")
        func total(_ label: String) -> Int? {
            out.split(separator: "\n").first { $0.hasPrefix("# \(label)") }.flatMap { Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) }
        }
        let requests = try #require(total("total     requests"))
        let writes = try #require(total("write     requests"))
        // Its per-request lines: count and bytes per direction.
        var r = 0, w = 0, rb: UInt64 = 0, wb: UInt64 = 0
        for line in out.split(separator: "\n") {
            let f = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count == 6, f[0].contains("."), let len = UInt64(f[2]), UInt64(f[1]) != nil else { continue }
            if f[3].uppercased() == "R" { r += 1; rb += len * 512 } else { w += 1; wb += len * 512 }
        }
        #expect(r + w == requests && w == writes)
        var s = try openTraceSource(path: load)
        let sum = try TraceSummary.of(&s)
        #expect(sum.records == UInt64(requests))
        #expect(sum.ops[1].count == UInt64(writes) && sum.ops[0].count == UInt64(r))
        #expect(sum.ops[1].bytes == wb && sum.ops[0].bytes == rb)
        #expect(s.metadata["blkreplay.preamble_lines"] != nil)
    }

    @Test func blkreplayPreambleRules() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        func write(_ name: String, _ text: String) throws -> String {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            return dir + "/" + name
        }
        let header = "Copyright someone\n\nSome license text: 1&1.\n#####\nstart ; sector; length ; op ;  replay_delay=0 ; replay_duration=0\n"
        // Two preambles (as windows-mssql.load has), flags after R/W, a result column.
        let ok = try write("ok.load", header + "license again\n#####\n" + header
            + "  0.000000000 ; 8 ; 8 ; W ; 0.0 ; 0.0\n  0.500000000 ; 16 ; 16 ;RA ; 0.0 ; 0.002000000\n")
        let (recs, _) = try readAll(path: ok)
        #expect(recs == [TraceRecord(time: 0, op: .write, file: 0, offset: 4096, length: 4096),
                         TraceRecord(time: 500_000_000, op: .read, file: 0, offset: 8192, length: 8192, latency: 2_000_000)])
        func fails(_ path: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try readAll(path: path, options: TraceOpenOptions(format: .blkreplay))
                Issue.record("no error", sourceLocation: sourceLocation)
            } catch let e as TraceError {
                #expect(e.message.contains(message) && e.message.contains(path), "\(e.message)", sourceLocation: sourceLocation)
            } catch { Issue.record("\(error)", sourceLocation: sourceLocation) }
        }
        fails(try write("bad.load", header + "  0.5 ; x ; 8 ; W ; 0.0 ; 0.0\n"), ":6: sector \"x\" is not a number")
        fails(try write("late.load", header + "  0.5 ; 8 ; 8 ; W ; 0.0 ; 0.0\nsome text\n"), ":7: expected 4 \";\"-separated fields")
        fails(try write("op.load", header + "  0.5 ; 8 ; 8 ; D ; 0.0 ; 0.0\n"), "operation \"D\" is neither R nor W")
        fails(try write("none.load", header), "no blkreplay data line after 2 lines of preamble")
    }

    /// btrecord on the capture in traces/: its files are the ones committed there, and
    /// our reading of them agrees with btrecord's own dump (`-v` writes each bunch's time
    /// and packets to `DEV.replay.N.rec`).
    @Test func btrecordFilesAgreeWithBtrecordsDump() throws {
        let exe = ["/usr/sbin/btrecord", "/usr/bin/btrecord"].first { FileManager.default.isExecutableFile(atPath: $0) }
        #expect(exe != nil, "btrecord is needed (Debian's blktrace; scripts/setup.sh installs it)")
        guard let exe else { return }
        let dir = makeTempDir(); defer { cleanup(dir) }
        try Self.sh("cp '\(sampleTraces)'/liuzel01-sda.blktrace.* '\(dir)/' && \(exe) -v -d '\(dir)' -D '\(dir)' liuzel01-sda 2>/dev/null")
        for cpu in 0...1 {
            let fresh = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/liuzel01-sda.replay.\(cpu)"))
            #expect(fresh == (try Data(contentsOf: URL(fileURLWithPath: "\(sampleTraces)/liuzel01-sda.replay.\(cpu)"))))
        }
        // btrecord's dump: "   S.NNNNNNNNN   N" per bunch (time since the file's genesis),
        // then "\trw sector\tblocks" per packet.
        var want: [UInt32: [(UInt64, UInt64, UInt64, Bool)]] = [:] // cpu -> (offset ns, sector, blocks, read)
        var genesis: [UInt32: UInt64] = [:]
        for cpu: UInt32 in [0, 1] {
            let rec = try String(contentsOfFile: "\(dir)/liuzel01-sda.replay.\(cpu).rec", encoding: .utf8)
            var t: UInt64 = 0
            for line in rec.split(separator: "\n") where !line.hasPrefix("-") {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if f.count == 2, f[0].contains(".") {
                    let p = f[0].split(separator: ".")
                    t = UInt64(p[0])! * 1_000_000_000 + UInt64(p[1])!
                } else if f.count == 3, let rw = Int(f[0]), let sec = UInt64(f[1]), let blocks = UInt64(f[2]) {
                    want[cpu, default: []].append((t, sec, blocks, rw == 1))
                }
            }
            let head = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/liuzel01-sda.replay.\(cpu)")).prefix(16)
            genesis[cpu] = head.dropFirst(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        }
        let base = genesis.values.min()!
        let blkparseQueued = try Self.sh("blkparse -i liuzel01-sda -D '\(sampleTraces)' -q -f '%a\\n' | grep -c '^Q$'")
        // Plain, gzip and zstd copies of both files, each set in its own directory.
        try Self.sh("""
            cd '\(dir)' && mkdir plain gz zst && cp '\(sampleTraces)'/liuzel01-sda.replay.[01] plain/ && \
            for n in 0 1; do gzip -c < plain/liuzel01-sda.replay.$n > gz/liuzel01-sda.replay.$n.gz; \
            zstd -q -c < plain/liuzel01-sda.replay.$n > zst/liuzel01-sda.replay.$n.zst; done
            """)
        let files = ["plain/liuzel01-sda.replay.0", "gz/liuzel01-sda.replay.0.gz", "zst/liuzel01-sda.replay.1.zst"].map { dir + "/" + $0 }
        for path in ["\(sampleTraces)/liuzel01-sda.replay.0"] + files {
            var s = try openTraceSource(path: path)
            #expect(s.metadata["source.format"] == "btrecord", "\(path)")
            let recs = try readAll(&s)
            #expect(recs.count == want.values.map(\.count).reduce(0, +), "\(path)")
            #expect(String(recs.count) == blkparseQueued.trimmingCharacters(in: .whitespacesAndNewlines), "blkparse's Q count")
            #expect(zip(recs, recs.dropFirst()).allSatisfy { $0.time <= $1.time })
            for cpu: UInt32 in [0, 1] {
                let ours = recs.filter { $0.stream == cpu }
                let theirs = want[cpu] ?? []
                try #require(ours.count == theirs.count, "\(path) cpu \(cpu)")
                for (a, b) in zip(ours, theirs) {
                    #expect(a.time == genesis[cpu]! - base + b.0)
                    #expect(a.offset == b.1 * 512 && a.length / 512 == b.2 && (a.op == .read) == b.3)
                }
            }
            #expect(s.files.map(\.path) == ["liuzel01-sda"])
            // btrecord's header counts leave out each file's last bunch.
            #expect(s.metadata["btrecord.packets_read"] == String(recs.count))
            #expect(Int(s.metadata["btrecord.header_packets"] ?? "") ?? 0 < recs.count)
        }
    }

    @Test func btrecordDamageIsNamed() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(sampleTraces)/liuzel01-sda.replay.0"))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: dir + "/cut.replay.0"))
        do {
            _ = try readAll(path: dir + "/cut.replay.0")
            Issue.record("a cut file read without error")
        } catch let e as TraceError {
            #expect(e.kind == .truncated && e.message.contains("cut.replay.0") && e.message.contains("inside a bunch"), "\(e.message)")
        }
        bytes[32] = 0xff // the first bunch's packet count becomes 0x2ff = 767 (btrecord writes at most 512)
        bytes[33] = 0x02
        try bytes.write(to: URL(fileURLWithPath: dir + "/big.replay.0"))
        do {
            _ = try readAll(path: dir + "/big.replay.0", options: TraceOpenOptions(format: .btrecord))
            Issue.record("a corrupt bunch read without error")
        } catch let e as TraceError {
            #expect(e.kind == .corruptBlock && e.message.contains("big.replay.0: byte 32: bunch of 767 packets"), "\(e.message)")
        }
    }

    /// blktrace with `streams: .pid`: each record's stream is the pid of its Q, as
    /// blkparse prints it, and the process names come from the capture's notify records.
    @Test func blktraceStreamsByPid() throws {
        var s = try openTraceSource(path: sampleTraces + "/liuzel01-sda", options: TraceOpenOptions(blktraceStreams: .pid))
        let recs = try readAll(&s)
        let pids = Self.numbers(try Self.sh("blkparse -i liuzel01-sda -D '\(sampleTraces)' -q -f '%a %p\\n' | awk '$1==\"Q\" {print $2}'"))
        #expect(recs.count == 113)
        #expect(recs.map { Int64($0.stream ?? UInt32.max) } == pids)
        let names = try #require(ProcessNames.parse(s.metadata["process.names"] ?? ""))
        let text = try Self.sh("blkparse -i liuzel01-sda -D '\(sampleTraces)' -q -f '%a %p %C\\n' | awk '$1==\"Q\" {print $2, $3}' | sort -u")
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            #expect(names.contains { String($0.pid) == f[0] && $0.name == String(f[1]) }, "\(line) not in the process table")
        }
        #expect(s.metadata["blktrace.streams"] == "pid")
    }

    /// The new readers, fed random bytes and damaged copies of their samples, end with
    /// records or a `TraceError`: never a crash or a hang. Fixed seeds.
    @Test func damagedInputNeverCrashes() throws {
        let dir = makeTempDir(); defer { cleanup(dir) }
        let formats: [TraceFormat] = [.btrecord, .fiu, .systor, .hfplayer, .blkreplay]
        func drains(_ path: String, _ format: TraceFormat?) -> Bool {
            do {
                var s = try openTraceSource(path: path, options: TraceOpenOptions(format: format))
                var batch: [TraceRecord] = []
                var n = 0
                while try s.nextBatch(&batch, maxCount: 512) {
                    n += batch.count
                    if n > 10_000_000 { return false }
                }
                return true
            } catch is TraceError {
                return true
            } catch {
                return false
            }
        }
        let samples = ["liuzel01-sda.replay.1", "public/fiu-sample.trace", "public/systor17-sample.csv", "public/hfplayer-sample.csv"]
            .map { sampleTraces + "/" + $0 }
        var rng = TestRNG(seed: 1414)
        let alphabet = Array(" ,;\n0123456789RW.-#f".utf8)
        for round in 0..<60 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<Int(rng.below(3000) + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: samples[round % samples.count])))
                for _ in 0..<Int(rng.below(8) + 1) {
                    let at = Int(rng.below(UInt64(bytes.count)))
                    bytes[at] = round % 2 == 0 ? alphabet[Int(rng.below(UInt64(alphabet.count)))] : UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.below(3) == 0 { bytes.removeLast(Int(rng.below(UInt64(bytes.count)))) }
            }
            let p = dir + "/d\(round).replay.0"
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            for f in formats { #expect(drains(p, f), "format \(f.rawValue), round \(round)") }
            #expect(drains(p, nil), "detected, round \(round)")
        }
    }
}
