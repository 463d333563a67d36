// How tasks appear in lists and waits: bounded in size whatever they carry, and paged newest first.

/// A task as lists and waits show it: no payload, the output cut to a short prefix and long texts cut, with the
/// size of the whole output. The whole task is read one at a time (TaskGet).
public struct TaskSummary: Sendable, Equatable {
  /// Output bytes a summary keeps.
  public static let outputPrefixBytes = 256
  /// Characters of the error and message texts a summary keeps.
  public static let textPrefixCharacters = 1024

  /// The task without its payload, its output cut to `outputPrefixBytes` and its texts to
  /// `textPrefixCharacters` (each cut text ends with a marker).
  public var task: TaskRecord
  /// Size of the whole output.
  public var outputBytes: Int

  /// True when `task.output` is only the first bytes of the output.
  public var outputTruncated: Bool { self.outputBytes > self.task.output.count }

  /// The summary of a whole task.
  public init(listing record: TaskRecord) {
    var task = record
    task.payload = []
    if task.output.count > Self.outputPrefixBytes {
      task.output = Array(task.output.prefix(Self.outputPrefixBytes))
    }
    self.init(cutTexts: task, outputBytes: record.output.count)
  }

  /// The summary of a task whose payload is already left out and output already cut (as a store reads it),
  /// given the size of the whole output; texts longer than the bound are cut here.
  public init(cutTexts task: TaskRecord, outputBytes: Int) {
    var task = task
    task.error = Self.cut(task.error)
    task.message = Self.cut(task.message)
    self.task = task
    self.outputBytes = max(outputBytes, task.output.count)
  }

  /// `text`, or its first `textPrefixCharacters` characters and a marker saying the rest is in TaskGet.
  static func cut(_ text: String) -> String {
    // utf8.count is O(1) for native strings: only long texts pay for counting characters.
    guard text.utf8.count > Self.textPrefixCharacters, text.count > Self.textPrefixCharacters else {
      return text
    }
    return String(text.prefix(Self.textPrefixCharacters)) + " [cut; the whole text is in TaskGet]"
  }
}

/// A position in the newest-first order of an account's tasks (creation time, then id): a list continues with
/// the tasks after it. Its token is what `TaskListResponse.next_page_token` carries.
public struct TaskListCursor: Sendable, Equatable {
  /// Creation time of the last task listed, Unix milliseconds.
  public var createdAt: Int64
  /// Id of the last task listed.
  public var id: String

  /// The position just after `task`.
  public init(after task: TaskRecord) {
    self.createdAt = task.createdAt
    self.id = task.id
  }

  /// The position a page token names; nil for a token this manager did not give out.
  public init?(token: String) {
    guard let colon = token.firstIndex(of: ":"), let createdAt = Int64(token[..<colon]) else {
      return nil
    }
    let id = String(token[token.index(after: colon)...])
    guard !id.isEmpty, id.utf8.count <= 256 else { return nil }
    self.createdAt = createdAt
    self.id = id
  }

  /// The page token naming this position.
  public var token: String { "\(self.createdAt):\(self.id)" }

  /// Whether `task` comes after this position in newest-first order.
  public func precedes(_ task: TaskRecord) -> Bool {
    (task.createdAt, task.id) < (self.createdAt, self.id)
  }
}
