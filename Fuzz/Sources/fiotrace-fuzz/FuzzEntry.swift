// libFuzzer's entry points. One binary holds every target; the environment variable
// FIOTRACE_FUZZ_TARGET picks which one runs (`list` prints their names), so that one build
// serves them all. Built with `-sanitize=fuzzer -parse-as-library` (scripts/fuzz.sh):
// SwiftPM links an executable's `main` to `<module>_main`, so that is defined here and
// hands over to libFuzzer's driver (without that alias libFuzzer's own `main` runs, which
// calls the same entry points).
import CFuzzDriver
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("fiotrace_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzTestOneInput(data, size) }
}

/// The target chosen at start-up.
nonisolated(unsafe) var chosenTarget: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>,
                           _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = getenv("FIOTRACE_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if name == "list" {
        for t in FuzzTarget.all { print(t.name) }
        exit(0)
    }
    guard let t = FuzzTarget.all.first(where: { $0.name == name }) else {
        let names = FuzzTarget.all.map(\.name).joined(separator: " ")
        fputs("fiotrace-fuzz: set FIOTRACE_FUZZ_TARGET to one of: \(names) (or list)\n", stderr)
        exit(2)
    }
    chosenTarget = t
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    chosenTarget!.run(bytes)
    return 0
}
