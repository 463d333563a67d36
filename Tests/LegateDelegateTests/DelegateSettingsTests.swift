import Foundation
import LegateDelegate
import Testing

/// `legate-delegate` settings: the configuration file's format and the precedence flag > environment > file.
struct DelegateSettingsTests {
    @Test func fileLinesCommentsAndQuotes() throws {
        let text = "# comment\n\nmanager = m:1\n  name=\"two words\"  \ntags = a,b\n"
        let values = try DelegateSettings.parseFile(text, path: "d.conf")
        #expect(values == ["manager": "m:1", "name": "two words", "tags": "a,b"])
    }

    @Test func unknownKeysAndMalformedLinesAreRefusedWithTheLineNumber() {
        #expect(throws: DelegateSettingsError.unknownKey(path: "d.conf", line: 2, key: "capacty", program: "legate-delegate")) {
            try DelegateSettings.parseFile("manager = m:1\ncapacty = 3\n", path: "d.conf")
        }
        #expect(throws: DelegateSettingsError.malformedLine(path: "d.conf", line: 3)) {
            try DelegateSettings.parseFile("\n# x\njust words\n", path: "d.conf")
        }
        let message = "\(DelegateSettingsError.unknownKey(path: "d.conf", line: 2, key: "capacty", program: "legate-delegate"))"
        #expect(message.contains("d.conf line 2") && message.contains("--help"))
    }

    @Test func aFlagWinsOverTheEnvironmentWhichWinsOverTheFile() {
        let flags = ["--capacity": "3"]
        let environment = ["LEGATE_CAPACITY": "2", "LEGATE_TAGS": "env", "LEGATE_PROFILE": ""]
        let file = ["capacity": "1", "tags": "file", "profile": "from-file", "name": "n"]
        let values = DelegateSettings.resolve(flag: { flags[$0] }, environment: environment, file: file)
        #expect(values["capacity"] == "3")
        #expect(values["tags"] == "env")
        #expect(values["profile"] == "from-file")  // an empty variable does not count
        #expect(values["name"] == "n")
    }

    @Test func helpNamesEachSettingsFlagVariableAndKey() {
        for setting in DelegateSettings.all {
            let line = "\(setting.flag) \(setting.placeholder)  \(setting.variable)  \(setting.key)"
            #expect(DelegateSettings.usage.contains(line))
        }
        #expect(
            DelegateSettings.all.contains { $0.flag == "--token-file" && $0.variable == "LEGATE_DELEGATE_TOKEN_FILE" })
    }

    @Test func tokenFileIsReplacedAtomicallyWithMode0600() throws {
        let directory = NSTemporaryDirectory() + "legate-token-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/token"
        try "old".write(toFile: path, atomically: false, encoding: .utf8)
        try TokenFile.write("lgt_new_value", to: path)
        #expect(try TokenFile.read(path) == "lgt_new_value")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["token"])  // no temporary left
        #expect(throws: TokenFileError.self) { try TokenFile.write("x", to: directory + "/missing/token") }
    }
}
