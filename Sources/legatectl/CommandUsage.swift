// Per-command usage texts: `-h`/`--help` print only the command asked about, and a usage error prints one line
// and that command's usage rather than the whole page.
import Foundation
import LegateCommandLine
import LegateNet
import Synchronization

let settingsUsage = """
      settings: --manager HOST:PORT (LEGATE_MANAGER), --admin-key KEY (LEGATE_ADMIN_KEY),
                --ca-file PEM (LEGATE_CA_FILE), --server-name NAME; --json for machine-readable output
    """

/// Every command's usage, by "noun verb".
let commandUsages: [(command: String, usage: String)] = [
    ("jwt verify", """
      legatectl jwt verify --secret-file PATH --audience AUD [--issuer ISS] [--kid KID] [--now UNIX_SECONDS]
                           [--leeway SECONDS]     reads one JWT on stdin; prints its claims as JSON
    """),
    ("jwt mint", """
      legatectl jwt mint --secret-file PATH --kid KID --account ACC --issuer ISS --audience AUD
                         --ttl SECONDS
    """),
    ("token new", "  legatectl token new                  prints a fresh delegate token value (offline)"),
    ("token create", """
      legatectl token create --name NAME [--expires-in SECONDS] [--scope SCOPE]   prints the value once
                 SCOPE: account (default), org/ORG or project/ORG/PROJECT; --expires-in must be positive
    """),
    ("token list", "  legatectl token list                 STATUS: active, revoked, expired"),
    ("token show", "  legatectl token show ID|NAME"),
    ("token copy", "  legatectl token copy ID|NAME         prints the value"),
    ("token delete", "  legatectl token delete ID|NAME       only a revoked token"),
    ("token revoke", "  legatectl token revoke ID|NAME [--dry-run]   prints told/acknowledged/not reached"),
    ("token rotate", "  legatectl token rotate ID|NAME [--overlap SECONDS]   prints the successor's value once"),
    ("delegate list", """
      legatectl delegate list [--token ID|NAME]   STATUS: active, pending, disconnected, rejected, destroyed
    """),
    ("delegate show", "  legatectl delegate show ID|NAME"),
    ("delegate pending", "  legatectl delegate pending [--profile NAME]"),
    ("delegate approve", "  legatectl delegate approve ID... | --profile NAME | --token ID  [--reason TEXT]"),
    ("delegate reject", """
      legatectl delegate reject ID... | --profile NAME | --token ID  --reason TEXT (told to the delegate)
    """),
    ("delegate delete", "  legatectl delegate delete ID          a connected delegate gets SELF_DESTRUCT first"),
    ("delegate prune", """
      legatectl delegate prune --disconnected-for 24h [--dry-run]   removes records disconnected that long and
                 destroyed ones (told SELF_DESTRUCT)
    """),
    ("audit list", """
      legatectl audit list [--limit N] [--action A] [--actor ACTOR] [--since T] [--until T]
                 A: exact (token.create) or prefix (token.*); T: 24h, 30m, 7d (that long ago) or 2026-11-30T04:00:00Z
    """),
    ("profile create", """
      legatectl profile create --name NAME [--requires-approval true|false] [--script-file PATH]
                 [--auto-approve RULES]
                 RULES: rules separated by ';', each conditions joined by '&', all of which must hold:
                 cidr=NET[,NET...] (peer address), host=GLOB (* and ?), token=TOKEN_ID
    """),
    ("profile update", """
      legatectl profile update NAME [--requires-approval true|false] [--script-file PATH | --no-script]
                 [--auto-approve RULES | --no-auto-approve]        changes only what is given
    """),
    ("profile list", "  legatectl profile list"),
    ("profile delete", "  legatectl profile delete NAME         the default profile cannot be deleted"),
    ("task submit", """
      legatectl task submit --type TYPE [--payload TEXT | --payload-file FILE] [--selectors a,b]
                [--target DELEGATE_ID|NAME] [--timeout MS] [--max-attempts N] [--idempotency-key KEY]
                [--wait [--wait-timeout SECONDS]] [--secret ENV=NAME]...
                --secret (repeatable, needs secret:use): the handler gets the secret as ENV; only members of
                its key ring run the task; output and logs show it as ***
                prints the task id at once; with --wait, waits until the task ends and prints it (exit 1 unless
                it succeeded, or when --wait-timeout passes first: then its state and why it waits)
                shell payload: {"command": "/bin/ls", "arguments": ["-l"], "workingDirectory": "/tmp",
                "environment": {"K": "V"}, "timeoutMs": 5000, "maxOutputBytes": 65536}
    """),
    ("task get", "  legatectl task get ID"),
    ("task wait", "  legatectl task wait ID [--wait-timeout SECONDS]   exit 0 only if it succeeded"),
    ("task list", """
      legatectl task list [--state queued|assigned|acknowledged|running|succeeded|failed|timed_out|cancelled]
                [--limit N]   newest first, at most N tasks (default 100); outputs are cut (task get prints one)
    """),
    ("task cancel", "  legatectl task cancel ID [--reason TEXT]"),
    ("task logs", "  legatectl task logs ID [--follow]    --follow streams until the task ends"),
    ("admin-key create", """
      legatectl admin-key create --name NAME --permissions P[,P...] [--scope SCOPE] [--expires-in SECONDS]
                 prints the key once; P: delegate:view, delegate:edit, delegate:delete, delegate:approve,
                 task:submit, task:view, secret:edit, secret:view, secret:use, account:admin (all);
                 SCOPE: default the creating key's
    """),
    ("admin-key list", "  legatectl admin-key list             STATUS: active, revoked, expired"),
    ("keyring create", """
      legatectl keyring create NAME [--members RULE]   seals a fresh ring key to each member's device key here
                 RULE: conditions joined by '&', all of which must hold: profile=NAME, tags=a,b, token=TOKEN_ID
                 again on a ring created before it had members: seals its first key to the members it has now
    """),
    ("keyring update", """
      legatectl keyring update NAME --members RULE   a new member rule; a member it drops loses the ring: a
                 remaining member rotates the ring key and re-seals every secret (keyring show tracks it)
    """),
    ("keyring list", "  legatectl keyring list"),
    ("keyring show", "  legatectl keyring show NAME          members, device key fingerprints, who waits for a copy"),
    ("secret create", """
      legatectl secret create NAME --keyring RING [--value-file PATH] [--task-types a,b]
                 reads the value from stdin without --value-file (at least 6 bytes); sealed here, the manager
                 stores ciphertext only
    """),
    ("secret list", "  legatectl secret list"),
    ("secret show", "  legatectl secret show NAME           metadata: ring, versions, created, last used"),
    ("secret rotate", "  legatectl secret rotate NAME [--value-file PATH]   a new version; old ones are kept"),
    ("secret delete", "  legatectl secret delete NAME"),
    ("admin-key revoke", "  legatectl admin-key revoke ID|NAME"),
    ("node list", "  legatectl node list                  the managers sharing the store and the delegates each holds"),
]

let exitStatusUsage = "exit status: 0 ok, 1 refused or not found, 2 usage error, 3 cannot reach the manager"

/// The nouns, in the order the overview lists them.
let nouns = ["jwt", "token", "delegate", "profile", "task", "audit", "admin-key", "keyring", "secret", "node"]

/// The usage of `noun verb`, of all of `noun`'s verbs, or the overview.
func usageText(noun: String?, verb: String?) -> String {
    if let noun, let verb, let entry = commandUsages.first(where: { $0.command == "\(noun) \(verb)" }) {
        return "usage:\n" + entry.usage + (noun == "jwt" || entry.command == "token new" ? "" : "\n" + settingsUsage)
    }
    if let noun, nouns.contains(noun) {
        let lines = commandUsages.filter { $0.command.hasPrefix(noun + " ") }.map(\.usage)
        return "usage:\n" + lines.joined(separator: "\n") + (noun == "jwt" ? "" : "\n" + settingsUsage)
    }
    return """
        usage: legatectl NOUN VERB [flags]    (legatectl NOUN --help lists a noun's commands)
          nouns: \(nouns.joined(separator: ", "))
          -h, --help at any level prints that level's usage; --version prints the version
        \(exitStatusUsage)
        """
}

/// The usage printed after a usage error: the command being run, set once it is known.
let currentUsage = Mutex(usageText(noun: nil, verb: nil))

/// Prints one line naming the problem and the current command's usage, then exits 2.
func usageError(_ message: String) -> Never {
    OutputWriter.standardError.write("legatectl: \(message)\n\(currentUsage.withLock { $0 })\n")
    exit(2)
}

/// The flags each admin command takes beyond the connection settings and `--json`.
let commandFlags: [String: Set<String>] = [
    "token create": ["--name", "--expires-in", "--scope"], "token rotate": ["--overlap"],
    "token revoke": ["--dry-run"], "delegate list": ["--token"],
    "audit list": ["--limit", "--action", "--actor", "--since", "--until"],
    "delegate prune": ["--disconnected-for", "--dry-run"],
    "task submit": [
        "--type", "--payload", "--payload-file", "--selectors", "--target", "--timeout", "--max-attempts",
        "--idempotency-key", "--wait", "--wait-timeout",
    ],
    "task wait": ["--wait-timeout"], "task list": ["--state", "--limit"], "task cancel": ["--reason"],
    "task logs": ["--follow"], "admin-key create": ["--name", "--permissions", "--scope", "--expires-in"],
    "profile create": ["--name", "--requires-approval", "--script-file", "--auto-approve"],
    "profile update": ["--requires-approval", "--script-file", "--no-script", "--auto-approve", "--no-auto-approve"],
    "delegate pending": ["--profile"], "delegate approve": ["--profile", "--token", "--reason"],
    "delegate reject": ["--profile", "--token", "--reason"],
    "keyring create": ["--members"], "keyring update": ["--members"], "secret create": ["--keyring", "--value-file", "--task-types"],
    "secret rotate": ["--value-file", "--task-types"],
]

/// Refuses a flag that another command takes but `noun verb` does not (it would be ignored silently).
func refuseForeignFlags(_ arguments: CommandLineArguments, noun: String, verb: String) {
    let allowed = (commandFlags["\(noun) \(verb)"] ?? []).union(settingsFlags).union(["--json", "--help"])
    if let foreign = arguments.givenFlags.subtracting(allowed).sorted().first {
        usageError("\(foreign) does not apply to '\(noun) \(verb)'")
    }
}

/// Whether `noun verb` is a command.
func isCommand(noun: String, verb: String) -> Bool {
    commandUsages.contains { $0.command == "\(noun) \(verb)" }
}

/// Handles `--version`, `-h`/`--help` and `help` anywhere before running, printing only the level asked about.
func handleHelpAndVersion(_ words: [String]) {
    if words.contains("--version") {
        print("legatectl \(LegateVersion.current)")
        exit(0)
    }
    let wantsHelp = words.contains("-h") || words.contains("--help") || words.first == "help"
    guard wantsHelp else { return }
    let path = words.first == "help" ? Array(words.dropFirst()) : words
    let noun = path.first.flatMap { nouns.contains($0) ? $0 : nil }
    let verb = path.dropFirst().first.flatMap { verb in noun.flatMap { isCommand(noun: $0, verb: verb) ? verb : nil } }
    print(usageText(noun: noun, verb: verb))
    exit(0)
}
