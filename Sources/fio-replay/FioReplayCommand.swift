import ArgumentParser
import FioTrace

@main
struct FioReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fio-replay",
        abstract: "Replay, inspect and convert I/O traces (native .fiot, fio iolog v2/v3, blktrace).",
        subcommands: [InfoCommand.self, ConvertCommand.self, CatCommand.self, RecordCommand.self, ReplayCommand.self, RunCommand.self]
            + [CompareCommand.self]
            + [FitCommand.self]
            + [AnonymizeCommand.self]
    )
}
