import LegateCommandLine
import Testing

/// The executables' flag parser: values, switches, positionals and the errors they print before exiting 2.
@Suite struct CommandLineArgumentsTests {
    @Test func valuesSwitchesAndPositionalsInAnyOrder() throws {
        let arguments = try CommandLineArguments(
            ["token", "--name", "ci", "--json", "revoke", "--overlap=300"],
            valueFlags: ["--name", "--overlap"], switchFlags: ["--json"])
        #expect(arguments.positionals == ["token", "revoke"])
        #expect(arguments.string("--name") == "ci")
        #expect(try arguments.integer("--overlap", default: 0) == 300)
        #expect(arguments.isSet("--json"))
        #expect(!arguments.isSet("--dry-run"))
        #expect(arguments.string("--missing", default: "fallback") == "fallback")
    }

    @Test func secondsAcceptFractionsAndRefuseNegatives() throws {
        let arguments = try CommandLineArguments(["--grace", "1.5", "--bad", "-1"], valueFlags: ["--grace", "--bad"])
        #expect(try arguments.seconds("--grace", default: .zero) == .milliseconds(1500))
        #expect(try arguments.seconds("--absent", default: .seconds(7)) == .seconds(7))
        let negative = CommandLineArguments.ParseError.invalidValue(
            flag: "--bad", value: "-1", expected: "a number of seconds")
        #expect(throws: negative) { try arguments.seconds("--bad", default: .zero) }
    }

    @Test func errorsNameTheFlag() throws {
        #expect(throws: CommandLineArguments.ParseError.unknownFlag("--nope")) {
            try CommandLineArguments(["--nope"], valueFlags: [])
        }
        #expect(throws: CommandLineArguments.ParseError.missingValue(flag: "--name")) {
            try CommandLineArguments(["--name"], valueFlags: ["--name"])
        }
        let arguments = try CommandLineArguments(["--count", "many"], valueFlags: ["--count", "--name"])
        let notANumber = CommandLineArguments.ParseError.invalidValue(
            flag: "--count", value: "many", expected: "an integer")
        #expect(throws: notANumber) { try arguments.integer("--count", default: 1) }
        #expect(throws: CommandLineArguments.ParseError.missingRequired(flag: "--name")) {
            try arguments.required("--name")
        }
        #expect("\(CommandLineArguments.ParseError.unknownFlag("--nope"))" == "unknown option --nope; see --help")
    }

    @Test func singleDashWordsAreOptionsAndHelpIsAlwaysKnown() throws {
        // `-o json` from another tool is refused, not read as an argument and ignored.
        #expect(throws: CommandLineArguments.ParseError.unknownFlag("-o")) {
            try CommandLineArguments(["list", "-o", "json"], valueFlags: [])
        }
        let help = try CommandLineArguments(["create", "-h"], valueFlags: [])
        #expect(help.helpRequested && help.isSet("--help") && help.positionals == ["create"])
        #expect(try CommandLineArguments(["--help"], valueFlags: []).helpRequested)
        // Negative numbers and a lone dash stay arguments; a value flag takes a dash-led value as given.
        #expect(try CommandLineArguments(["-5", "-"], valueFlags: []).positionals == ["-5", "-"])
        #expect(try CommandLineArguments(["--expires-in", "-5"], valueFlags: ["--expires-in"]).string("--expires-in") == "-5")
    }

    @Test func aSwitchGivenAValueIsRefused() {
        #expect(throws: CommandLineArguments.ParseError.unknownFlag("--json")) {
            try CommandLineArguments(["--json=yes"], valueFlags: [], switchFlags: ["--json"])
        }
    }
}

/// `LEGATE_MANAGER` / `--manager` addresses.
@Suite struct ManagerAddressTests {
    @Test func hostPortBareHostAndBracketedIPv6() {
        #expect(ManagerAddress("127.0.0.1:7443") == ManagerAddress("127.0.0.1"))
        #expect(ManagerAddress("manager.example:9000")?.port == 9000)
        #expect(ManagerAddress("manager.example")?.host == "manager.example")
        #expect(ManagerAddress("[::1]:8443")?.host == "::1")
        #expect(ManagerAddress("[::1]:8443")?.port == 8443)
        #expect(ManagerAddress("[::1]")?.port == 7443)
    }

    @Test func aSchemeOrPathIsRefusedNotReadAsAHost() {
        #expect(ManagerAddress("https://manager.example:7443") == nil)
        #expect(ManagerAddress("manager.example:7443/admin") == nil)
        #expect(ManagerAddress("user@manager.example") == nil)
    }

    @Test func nonsenseIsRefused() {
        #expect(ManagerAddress("") == nil)
        #expect(ManagerAddress(":7443") == nil)
        #expect(ManagerAddress("host:0") == nil)
        #expect(ManagerAddress("host:65536") == nil)
        #expect(ManagerAddress("host:port") == nil)
        #expect(ManagerAddress("[::1") == nil)
        #expect(ManagerAddress("[::1]x") == nil)
    }
}
