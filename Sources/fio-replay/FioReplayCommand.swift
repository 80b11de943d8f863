import ArgumentParser
import FioReplay
import FioTrace
#if canImport(Glibc)
import Glibc
#endif

@main
struct FioReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fio-replay",
        abstract: "Replay, inspect and convert I/O traces (native .fiot, fio iolog v2/v3, blktrace).",
        version: "fio-replay-\(fioTraceVersion)",
        subcommands: [InfoCommand.self, ConvertCommand.self, CatCommand.self, RecordCommand.self, ReplayCommand.self,
                      RunCommand.self, VerifyCommand.self, CompareCommand.self, FitCommand.self, AnonymizeCommand.self,
                      ReportCommand.self, MergeCommand.self]
    )

    static func main() {
        limitMallocArenas(to: 1)
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            fail(error)
        }
        do {
            try command.run()
        } catch {
            fail(error)
        }
        exit()
    }

    /// Every error the same way: one line, `fio-replay: error: ...`, naming the subcommand's
    /// help instead of printing ArgumentParser's usage block. --help, --version and the
    /// commands' own exit statuses pass through unchanged.
    static func fail(_ error: Error) -> Never {
        if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
        var message = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        if message.hasPrefix("Error: ") { message.removeFirst(7) }
        let names = configuration.subcommands.map { $0.configuration.commandName ?? "" }
        let sub = CommandLine.arguments.dropFirst().first { names.contains($0) }
        warn("fio-replay: error: \(message) (fio-replay\(sub.map { " " + $0 } ?? "") --help lists the options)")
        Glibc.exit(exitCode(for: error).rawValue)
    }
}
