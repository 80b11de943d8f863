extension WorkloadGenerator {
    struct FileSetup {
        var path: String
        var fileOffset: UInt64
        var ioSize: UInt64
        var globalIndex: UInt32 = 0
    }

    /// fio's file naming and sizing (filesetup.c): `size` split evenly over `nrfiles`
    /// (the first files take the remainder in whole blocks), or `filesize` per file,
    /// starting at `offset + jobnum * offset_increment`.
    static func layoutFiles(job: JobSpec, seed: UInt64) throws -> [FileSetup] {
        let n = max(1, job.nrFiles)
        var minBS = UInt64.max
        for d in job.rw.directions { minBS = min(minBS, job.blockSize[d].min) }
        if minBS == .max { minBS = job.blockSize.read.min }
        var names: [String] = []
        for i in 0..<n {
            var name: String
            if !job.filenames.isEmpty {
                name = job.filenames[i]
            } else if let fmt = job.filenameFormat {
                name = fmt.replacingToken("$jobname", with: job.name)
                    .replacingToken("$jobnum", with: String(job.jobNumber))
                    .replacingToken("$filenum", with: String(i))
            } else {
                name = "\(job.name).\(job.jobNumber).\(i)"
            }
            if !job.directories.isEmpty && !name.hasPrefix("/") {
                let dir = job.directories[i % job.directories.count]
                name = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            }
            names.append(name)
        }
        var rng = Xoshiro256(seed: SplitMix64.mix(seed, 0xF11E5))
        var sizeTotal: UInt64?
        if case .bytes(let b)? = job.size { sizeTotal = b }
        var out: [FileSetup] = []
        var extra: UInt64 = 0
        var fs: UInt64 = 0
        if job.fileSize == nil {
            let total = sizeTotal ?? 0
            fs = total / UInt64(n)
            let all = fs * UInt64(n)
            if all < total { extra = (total - all) / minBS }
        }
        for i in 0..<n {
            var fileSize: UInt64
            if let r = job.fileSize {
                fileSize = r.lowerBound == r.upperBound ? r.lowerBound
                    : r.lowerBound + rng.below(r.upperBound - r.lowerBound + 1) / minBS * minBS
            } else {
                fileSize = fs
                if extra > 0 { extra -= 1; fileSize += minBS }
            }
            // Start offset (fio's get_start_offset).
            var start: UInt64
            var align = false
            switch job.offset {
            case .bytes(let b): start = b
            case .percent(let p):
                let real = job.fileSize?.lowerBound ?? fileSize
                start = UInt64(Double(real) * p / 100)
                align = true
            }
            start += UInt64(job.jobNumber) * job.offsetIncrement
            if align || job.offsetAlign > 0 {
                let a = job.offsetAlign > 0 ? job.offsetAlign : minBS
                start = (start + a - 1) / a * a
            }
            var io: UInt64
            if job.fileSize != nil {
                guard fileSize > start else {
                    throw TraceError(.unsupported, "\(job.origin): job \(job.name): offset \(start) is past the file size \(fileSize)")
                }
                io = fileSize - start
                if case .percent(let p)? = job.size {
                    io = min(io, UInt64(Double(fileSize) * p / 100))
                    io -= io % minBS
                } else if let s = sizeTotal {
                    io = min(io, s / UInt64(n))
                }
            } else {
                io = fileSize
            }
            out.append(FileSetup(path: names[i], fileOffset: start, ioSize: io))
        }
        let total = out.reduce(0) { $0 + $1.ioSize }
        if let small = out.first(where: { $0.ioSize < minBS }), total >= minBS {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): file \(small.path) gets \(small.ioSize) bytes, less than the block size \(minBS)")
        }
        if total < minBS {
            throw TraceError(.unsupported, "\(job.origin): job \(job.name): the block size is larger than the data set (\(total) bytes)")
        }
        return out
    }
}

extension String {
    func replacingToken(_ token: String, with value: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: token) {
            out += rest[..<r.lowerBound]
            out += value
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
