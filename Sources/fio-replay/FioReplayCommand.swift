import ArgumentParser
import FioReplay
import FioTrace

@main
struct FioReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fio-replay",
        abstract: "Replay, inspect and convert I/O traces (native .fiot, fio iolog v2/v3, blktrace).",
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
            exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
        exit()
    }
}
