// The ledger of the soak: every message a sender hands over is registered before its DATA, with the digest of the
// exact octets sent and its recipients; every message a reader retrieves is recorded against it. At the end each
// accepted message must have reached each of its recipients exactly once, with the same octets.

using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

/// <summary>What became of a message on the sending side.</summary>
internal enum SendState
{
    /// <summary>Registered, DATA not answered yet.</summary>
    Pending,
    /// <summary>250 after DATA: the server took responsibility for it.</summary>
    Accepted,
    /// <summary>Refused before or after DATA (a reply that is not 2xx): it must never arrive.</summary>
    Refused,
    /// <summary>The connection failed after the message was sent and before its reply was read: at most once.</summary>
    Uncertain,
}

/// <summary>One message sent.</summary>
internal sealed class SentMessage(string id, string kind, List<string> recipients, byte[] digest, int length)
{
    public string Id { get; } = id;
    public string Kind { get; } = kind;
    /// <summary>Who must receive it (lower case); the sender removes a recipient the server refused.</summary>
    public List<string> Recipients { get; } = recipients;
    public byte[] Digest { get; } = digest;
    public int Length { get; } = length;
    public volatile SendState State;
    /// <summary>When the 250 after DATA was read (Stopwatch ticks), once accepted.</summary>
    public long AcceptedAt;
    /// <summary>How many times each recipient has received it (index as <see cref="Recipients"/>), under the lock.</summary>
    public int[] Delivered = new int[recipients.Count];
    public int Altered;
}

/// <summary>The soak's ledger; safe for every sender and reader at once.</summary>
internal sealed class Ledger
{
    /// <summary>The header that carries each message's id; the first line of every message the soak sends.</summary>
    public const string IdHeader = "X-Soak-Id";

    private readonly ConcurrentDictionary<string, SentMessage> _sent = new(StringComparer.Ordinal);
    // (mailbox, the reader's unique key of a message: UIDL, or UIDVALIDITY/UID) already recorded.
    private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _problems = new();
    private long _next;
    private int _problemCount;

    /// <summary>A new id for a message of this kind: kind letter, number, so ids are unique within the run.</summary>
    public string NewId(string kind) =>
        string.Create(CultureInfo.InvariantCulture, $"{kind}-{Interlocked.Increment(ref _next):D7}");

    /// <summary>Registers a message before its DATA.</summary>
    public SentMessage Register(string id, string kind, IEnumerable<string> recipients, byte[] message)
    {
        var entry = new SentMessage(id, kind, [.. recipients.Select(r => r.ToLowerInvariant())], SHA256.HashData(message), message.Length);
        if (!_sent.TryAdd(id, entry))
        {
            throw new InvalidOperationException($"id {id} registered twice");
        }
        return entry;
    }

    /// <summary>The message registered under <paramref name="id"/>, if any.</summary>
    public SentMessage? Find(string? id) => id is not null && _sent.TryGetValue(id, out var entry) ? entry : null;

    /// <summary>Drops a recipient the server refused (before DATA), so it is not expected.</summary>
    public static void DropRecipient(SentMessage entry, string recipient)
    {
        lock (entry)
        {
            var i = entry.Recipients.IndexOf(recipient.ToLowerInvariant());
            if (i >= 0)
            {
                entry.Recipients.RemoveAt(i);
                var delivered = entry.Delivered.ToList();
                delivered.RemoveAt(i);
                entry.Delivered = [.. delivered];
            }
        }
    }

    /// <summary>
    /// Records a message read from <paramref name="mailbox"/>; <paramref name="key"/> is what identifies it there for the
    /// reader (the same message read twice under one key, as after a session that failed before its deletions took
    /// effect, counts once). Returns the id found, or null when the message is not one of ours.
    /// </summary>
    public string? Record(string mailbox, string key, ReadOnlySpan<byte> message)
    {
        mailbox = mailbox.ToLowerInvariant();
        var id = Locate(message, out var at);
        var ours = message[at..];
        if (!_seen.TryAdd(mailbox + "\n" + key, 0))
        {
            return id;
        }
        if (id is null)
        {
            Problem($"unexpected: {mailbox} holds a message without an {IdHeader} header ({message.Length} octets, starting \"{Start(message)}\")");
            return null;
        }
        if (!_sent.TryGetValue(id, out var entry))
        {
            Problem($"unexpected: {mailbox} holds a message with the unknown id {id}");
            return id;
        }
        var digest = SHA256.HashData(ours);
        lock (entry)
        {
            var i = entry.Recipients.IndexOf(mailbox);
            if (i < 0)
            {
                Problem($"misdelivered: {id} ({entry.Kind}) reached {mailbox}, which is not one of its recipients ({string.Join(", ", entry.Recipients)})");
                return id;
            }
            entry.Delivered[i]++;
            if (!digest.AsSpan().SequenceEqual(entry.Digest))
            {
                entry.Altered++;
                Problem($"altered: {id} ({entry.Kind}) as read from {mailbox}: {ours.Length} octets from its {IdHeader} line on, {entry.Length} sent, different content");
                Keep(id, mailbox, message);
            }
        }
        return id;
    }

    /// <summary>A note about something a reader saw that is wrong but not about one message's count (e.g. a message that
    /// came back after its deletion was committed).</summary>
    public void Problem(string text)
    {
        if (Interlocked.Increment(ref _problemCount) <= 10_000)
        {
            _problems.Enqueue(text);
        }
    }

    /// <summary>Deliveries accepted and not seen yet (accepted messages times their recipients that have not received them).</summary>
    public int Outstanding()
    {
        var n = 0;
        foreach (var entry in _sent.Values)
        {
            if (entry.State != SendState.Accepted)
            {
                continue;
            }
            lock (entry)
            {
                n += entry.Delivered.Count(d => d == 0);
            }
        }
        return n;
    }

    /// <summary>The verdict: each accepted message at each recipient once and unaltered, nothing refused delivered, no
    /// stranger in any mailbox.</summary>
    public Verdict Check()
    {
        var v = new Verdict { Problems = [.. _problems], ProblemCount = _problemCount };
        foreach (var entry in _sent.Values.OrderBy(e => e.Id, StringComparer.Ordinal))
        {
            lock (entry)
            {
                v.ByState[entry.State] = v.ByState.GetValueOrDefault(entry.State) + 1;
                for (var i = 0; i < entry.Recipients.Count; i++)
                {
                    var d = entry.Delivered[i];
                    switch (entry.State)
                    {
                        case SendState.Accepted:
                            v.Expected++;
                            if (d == 1)
                            {
                                v.ExactlyOnce++;
                            }
                            else if (d == 0)
                            {
                                v.Lost.Add($"{entry.Id} ({entry.Kind}, {entry.Length} octets) to {entry.Recipients[i]}");
                            }
                            else
                            {
                                v.Duplicated.Add($"{entry.Id} ({entry.Kind}) to {entry.Recipients[i]}: {d} times");
                            }
                            break;
                        case SendState.Refused or SendState.Pending when d > 0:
                            v.Duplicated.Add($"{entry.Id} ({entry.Kind}) to {entry.Recipients[i]}: delivered {d} time(s) although the server refused it");
                            break;
                        case SendState.Uncertain when d > 1:
                            v.Duplicated.Add($"{entry.Id} ({entry.Kind}) to {entry.Recipients[i]}: {d} times (its reply was never read)");
                            break;
                        case SendState.Uncertain:
                            v.UncertainDelivered += d;
                            break;
                    }
                }
                if (entry.Altered > 0)
                {
                    v.AlteredMessages++;
                }
            }
        }
        return v;
    }

    /// <summary>The id in the message's <see cref="IdHeader"/> field and in <paramref name="at"/> where that field's line starts:
    /// from there on the octets are what the sender sent (servers only put trace fields above it).</summary>
    private static string? Locate(ReadOnlySpan<byte> message, out int at)
    {
        at = 0;
        var headerEnd = message.IndexOf("\r\n\r\n"u8);
        var headers = headerEnd < 0 ? message : message[..(headerEnd + 2)];
        var prefix = "X-Soak-Id: "u8;
        if (headers.StartsWith(prefix))
        {
            at = 0;
        }
        else
        {
            at = headers.IndexOf("\r\nX-Soak-Id: "u8);
            if (at < 0)
            {
                at = 0;
                return null;
            }
            at += 2;
        }
        var line = message[(at + prefix.Length)..];
        var end = line.IndexOf("\r\n"u8);
        if (end <= 0 || end > 64)
        {
            at = 0;
            return null;
        }
        return Encoding.ASCII.GetString(line[..end]);
    }

    private static string Start(ReadOnlySpan<byte> message) =>
        Encoding.ASCII.GetString(message[..Math.Min(message.Length, 80)]).ReplaceLineEndings(" | ");

    /// <summary>Where a copy of each altered message is written (as read, trace fields and all), if set.</summary>
    public string? KeepDirectory { get; init; }

    private void Keep(string id, string mailbox, ReadOnlySpan<byte> message)
    {
        if (KeepDirectory is null)
        {
            return;
        }
        Directory.CreateDirectory(KeepDirectory);
        File.WriteAllBytes(Path.Combine(KeepDirectory, $"{id}-{mailbox.Replace('@', '_')}.eml"), message.ToArray());
    }
}

/// <summary>The outcome of <see cref="Ledger.Check"/>.</summary>
internal sealed class Verdict
{
    public Dictionary<SendState, int> ByState { get; } = [];
    public int Expected;
    public int ExactlyOnce;
    public int AlteredMessages;
    public int UncertainDelivered;
    public List<string> Lost { get; } = [];
    public List<string> Duplicated { get; } = [];
    public List<string> Problems { get; init; } = [];
    public int ProblemCount;

    public bool Passed => Lost.Count == 0 && Duplicated.Count == 0 && AlteredMessages == 0 && ProblemCount == 0;
}
