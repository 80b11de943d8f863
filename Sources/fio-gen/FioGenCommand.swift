import ArgumentParser
import FioTrace

@main
struct FioGenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fio-gen")
}
