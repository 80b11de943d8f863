import ArgumentParser
import FioTrace

@main
struct FioReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fio-replay")
}
