#if canImport(Glibc)
import Glibc
#endif
import LegateNet
import Testing

/// The non-trapping writer behind logs and command output: every refusal of the descriptor is a counted drop.
@Suite struct OutputWriterTests {
    /// A pipe as (read end, write end).
    static func makePipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        return (fds[0], fds[1])
    }

    /// Reads what is buffered in a pipe without blocking (the read end is made non-blocking).
    static func drain(_ fd: Int32) -> [UInt8] {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<64 {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            out += buffer[0..<n]
        }
        return out
    }

    @Test(arguments: [OutputWriter.WhenFull.drop, .wait])
    func fullDiskDropsAndCounts(_ mode: OutputWriter.WhenFull) throws {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let writer = OutputWriter(fileDescriptor: fd, whenFull: mode)
        #expect(!writer.write("2026-01-01 warning admin authentication refused\n"))
        #expect(!writer.write(Array("second line\n".utf8)))
        #expect(writer.droppedCount == 2)
    }

    @Test(arguments: [OutputWriter.WhenFull.drop, .wait])
    func pipeWithoutReaderDropsAndCounts(_ mode: OutputWriter.WhenFull) throws {
        System.ignoreBrokenPipe()
        let (reader, writerEnd) = try Self.makePipe()
        defer { close(writerEnd) }
        close(reader)
        let writer = OutputWriter(fileDescriptor: writerEnd, whenFull: mode)
        #expect(!writer.write("line for nobody\n"))
        #expect(writer.droppedCount == 1)
    }

    @Test func closedDescriptorDropsAndCounts() throws {
        let (reader, writerEnd) = try Self.makePipe()
        close(reader)
        close(writerEnd)
        let writer = OutputWriter(fileDescriptor: writerEnd, whenFull: .wait)
        #expect(!writer.write("x\n"))
        #expect(writer.droppedCount == 1)
    }

    @Test func linesReachALiveReaderWhole() throws {
        let (reader, writerEnd) = try Self.makePipe()
        defer {
            close(reader)
            close(writerEnd)
        }
        let writer = OutputWriter(fileDescriptor: writerEnd, whenFull: .drop)
        let long = String(repeating: "a", count: 10_000) + "\n"
        #expect(writer.write("short\n"))
        #expect(writer.write(long))
        #expect(writer.write([UInt8]()))
        #expect(writer.droppedCount == 0)
        #expect(Self.drain(reader) == Array(("short\n" + long).utf8))
    }

    /// A reader that stops reading must not stall a logging thread: once the pipe is full, lines are dropped.
    @Test func fullPipeDropsInsteadOfBlocking() throws {
        let (reader, writerEnd) = try Self.makePipe()
        defer {
            close(reader)
            close(writerEnd)
        }
        let writer = OutputWriter(fileDescriptor: writerEnd, whenFull: .drop)
        let line = String(repeating: "b", count: 1000) + "\n"
        var accepted = 0
        for _ in 0..<2000 where writer.write(line) { accepted += 1 }
        #expect(accepted > 0 && accepted < 2000)
        #expect(writer.droppedCount == 2000 - accepted)
        #expect(Self.drain(reader).count >= accepted * line.utf8.count)
    }
}
