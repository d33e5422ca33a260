using System.Buffers;
using BenchmarkDotNet.Attributes;
using Mail.Protocols.Imap.Search;
using Mail.Protocols.Maildir;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Benchmarks;

/// <summary>
/// SEARCH over a 10,000-message Maildir folder, as the IMAP session runs it (the session's UIDs, the evaluator, the
/// untagged answer written), without sockets: where the CPU of <c>SEARCH FLAGGED</c> goes (the store's listing of the
/// folder, the evaluation, the answer). Every 10th message is \Flagged; the messages' dates span 20 days, the last 5 of them after the SINCE date.
/// </summary>
[MemoryDiagnoser]
public class ImapSearchBenchmarks : ISmokeChecked
{
    private const string User = "bench@example.test";
    private string _root = "";
    private MaildirMailboxStore _store = null!;
    private uint[] _uids = [];
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);

    /// <summary>Messages in the folder.</summary>
    [Params(10_000)]
    public int Messages { get; set; } = 10_000;

    [GlobalSetup]
    public void Setup()
    {
        _root = Path.Combine(Path.GetTempPath(), "mp-bench-search-" + Guid.NewGuid().ToString("N"));
        var cur = Path.Combine(_root, "bench@example.test", "cur");
        Directory.CreateDirectory(cur);
        Directory.CreateDirectory(Path.Combine(_root, "bench@example.test", "new"));
        Directory.CreateDirectory(Path.Combine(_root, "bench@example.test", "tmp"));
        var content = "From: a@example.test\r\nTo: b@example.test\r\nSubject: s\r\n\r\nbody\r\n"u8.ToArray();
        var start = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var n = 0; n < Messages; n++)
        {
            var flags = n % 10 == 0 ? "F" : n % 3 == 0 ? "S" : "";
            var path = Path.Combine(cur, $"{1_790_000_000 + n}.M{n}P1.bench,S={content.Length},W={content.Length}:2,{flags}");
            File.WriteAllBytes(path, content);
            File.SetLastWriteTimeUtc(path, start.AddSeconds(n * (20.0 * 24 * 60 * 60) / Messages));
        }
        _store = new MaildirMailboxStore(_root);
        var snapshot = _store.OpenFolderAsync(User, "INBOX").AsTask().GetAwaiter().GetResult();
        _uids = [.. snapshot.Messages.Select(m => m.Uid)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>The store's listing of the folder alone.</summary>
    [Benchmark]
    public async Task<int> ListMessages() => (await _store.ListMessagesAsync(User, "INBOX")).Count;

    /// <summary><c>SEARCH FLAGGED</c>: the evaluation over the session's UIDs and the <c>* SEARCH</c> answer.</summary>
    [Benchmark]
    public Task<int> SearchFlagged() => SearchAsync(SearchKey.Simple(SearchKeyKind.Flagged));

    /// <summary><c>SEARCH SINCE 16-Nov-2026</c>, likewise.</summary>
    [Benchmark]
    public Task<int> SearchSince() => SearchAsync(SearchKey.DateKey(SearchKeyKind.Since, new DateOnly(2026, 11, 16)));

    private async Task<int> SearchAsync(SearchKey key)
    {
        // The session hands the evaluator a copy of its UIDs, as ImapSession.Search does.
        var result = await SearchEvaluator.EvaluateAsync(key, new SearchScope(_store, User, "INBOX", _uids.ToArray()));
        _output.ResetWrittenCount();
        SearchResponseWriter.WriteSearch(_output, result.Numbers(uid: false));
        return result.Count;
    }

    public void CheckSmokeResult(string benchmark, object? result)
    {
        switch (benchmark)
        {
            case nameof(ListMessages):
                SmokeRun.AssertEqual(Messages, result);
                break;
            case nameof(SearchFlagged):
                SmokeRun.AssertEqual(Messages / 10, result);
                break;
            case nameof(SearchSince):
                SmokeRun.AssertEqual(Messages / 4, result);
                break;
            default:
                throw new InvalidOperationException("no check for " + benchmark);
        }
    }
}
