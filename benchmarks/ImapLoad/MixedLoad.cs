// ImapLoad mixed: a mixed load in the style of imaptest. C clients log in as the same user (untimed), each selects
// one of the shared --mailboxes (each starts with --messages messages), then for --duration seconds each one
// repeatedly picks, at random (seeded by --seed and the client's number), one of:
//   SELECT another mailbox (then UID FETCH 1:* (UID FLAGS), as a client does on opening a folder)   5%
//   UID FETCH of up to 10 messages (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)                   15%
//   UID FETCH of one message (UID RFC822.SIZE BODY.PEEK[]); its size and digest are checked        15%
//   UID FETCH of up to 10 messages (UID BODY.PEEK[HEADER.FIELDS (From Subject Date)])               5%
//   UID STORE of one message +FLAGS or -FLAGS (\Seen, \Flagged, \Answered or \Draft)                20%
//   UID STORE of 1 or 2 messages +FLAGS.SILENT (\Deleted), then EXPUNGE                              6%
//   APPEND of a new message (with its digest) to one of the mailboxes, the selected one half the time 10%
//   IDLE, DONE after --idle-ms or as soon as an update comes                                           9%
//   NOOP                                                                                               15%
// Before a command on existing messages, messages whose UIDs the client does not know yet (announced by EXISTS)
// are learned with UID FETCH n:* (UID FLAGS), counted as a command ("sync"), once: the command then picks among the
// messages whose UIDs it knows, even if an EXISTS at the end of the sync announced newer ones (another session
// appended while it ran; they are learned at the next sync). Every response is parsed and checked (CheckedClient.cs):
// a tagged BAD, a NO other than NO [EXPUNGEISSUED] (a message another session expunged), an untagged BAD/NO/BYE,
// a response that does not parse, or one that contradicts the client's model of the mailbox (EXISTS below
// what is known, EXPUNGE or FETCH of a message that does not exist, a UID that changes or does not ascend,
// an EXPUNGE during a command that may not have one, a FETCH without the asked item, a body that does not match its size or digest, a message
// still there after the EXPUNGE of its \Deleted flag) is a protocol error. A unit is a command.

using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

internal static class MixedLoad
{
    public static async Task RunAsync(Options options, Result result, CancellationToken timeLimit)
    {
        var clients = new MixedClient[options.Clients];
        var ready = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;
        var reported = 0;
        var tasks = Enumerable.Range(0, options.Clients).Select(c => Task.Run(async () =>
        {
            var client = clients[c] = new MixedClient(options, c);
            try
            {
                await client.SetUpAsync(timeLimit);
                if (Interlocked.Increment(ref started) == options.Clients)
                {
                    ready.TrySetResult(Stopwatch.GetTimestamp());
                }
                var begin = await ready.Task.WaitAsync(timeLimit);
                await client.RunAsync(begin + (long)(options.DurationSeconds * Stopwatch.Frequency), timeLimit);
            }
            catch (Exception ex) when (ex is ProtocolException or System.Net.Sockets.SocketException or IOException or OperationCanceledException)
            {
                client.Errors++;
                if (Interlocked.Increment(ref reported) <= 10)
                {
                    Console.Error.WriteLine($"client {c + 1} ({client.LastCommand}): {ex.Message}");
                    if (reported <= 3)
                    {
                        Console.Error.WriteLine($"  client {c + 1}'s last lines, oldest first:");
                        foreach (var line in client.Trace)
                        {
                            Console.Error.WriteLine($"    {line}");
                        }
                    }
                }
                // A client that failed before the start must not keep the others waiting.
                if (Interlocked.Increment(ref started) == options.Clients)
                {
                    ready.TrySetResult(Stopwatch.GetTimestamp());
                }
            }
            finally
            {
                client.Dispose();
            }
        })).ToArray();
        var beginAll = await ready.Task.WaitAsync(timeLimit);
        var cpu = ProcessTree.CpuTicks(options.CpuPid);
        await Task.WhenAll(tasks);
        result.Seconds = Stopwatch.GetElapsedTime(beginAll).TotalSeconds;
        result.CpuTicks = ProcessTree.CpuTicks(options.CpuPid) - cpu;
        var total = new long[MixedClient.KindNames.Length];
        long expectedNo = 0, idleUpdates = 0, nilBodies = 0, syncsShort = 0, newExists = 0, announced = 0;
        foreach (var client in clients)
        {
            result.Units += client.Commands;
            result.Errors += client.Errors;
            result.Bytes += client.Received;
            expectedNo += client.ExpectedNo;
            idleUpdates += client.IdleUpdates;
            nilBodies += client.NilBodies;
            syncsShort += client.SyncsShort;
            newExists += client.NewExists;
            announced += client.Announced;
            for (var k = 0; k < total.Length; k++)
            {
                total[k] += client.Kinds[k];
            }
        }
        var kinds = string.Join(' ', MixedClient.KindNames.Select((name, k) => string.Create(CultureInfo.InvariantCulture, $"{name}={total[k]}")));
        result.Extra = string.Create(CultureInfo.InvariantCulture,
            $" {kinds} expunge_issued_no={expectedNo} nil_bodies={nilBodies} idle_updates={idleUpdates} syncs_short={syncsShort} exists_new={newExists} announced={announced}");
    }
}

/// <summary>One client of the mixed load: its connection, its model of the selected mailbox, its counters.</summary>
internal sealed class MixedClient(Options options, int number) : IDisposable
{
    public static readonly string[] KindNames = ["select", "sync", "fetch", "body", "header", "store", "delete", "expunge", "append", "idle", "noop"];

    private static readonly string[] StoreFlags = [@"\Seen", @"\Flagged", @"\Answered", @"\Draft"];
    private readonly Random _rng = new(options.Seed * 1000 + number);
    private readonly MailboxModel _model = new();
    private readonly Dictionary<string, long> _validity = [];
    private CheckedConnection? _connection;
    private string _command = "";
    private bool _uidCommand;

    public long Commands;
    public long Errors;
    public long ExpectedNo;
    public long IdleUpdates;
    public long NilBodies;
    public long SyncsShort;

    /// <summary>EXISTS responses outside SELECT that announced new messages, and how many messages they announced.</summary>
    public long NewExists;
    public long Announced;
    public readonly long[] Kinds = new long[KindNames.Length];

    public long Received => _connection?.Received ?? 0;

    /// <summary>The last commands sent and responses read (their first 200 characters), for the error report.</summary>
    public Queue<string> Trace { get; } = new();

    private void Note(string line)
    {
        if (Trace.Count == 40)
        {
            Trace.Dequeue();
        }
        var end = line.IndexOf('\r', StringComparison.Ordinal);
        line = end >= 0 ? line[..end] : line;
        Trace.Enqueue(line.Length > 200 ? line[..200] : line);
    }

    public string LastCommand => _command;

    public async Task SetUpAsync(CancellationToken ct)
    {
        _connection = await CheckedConnection.OpenAsync(options.Host, options.Port, ct);
        await CommandAsync($"LOGIN \"{options.User}\" \"{options.Password}\"", ct);
        Commands = 0;
        await SelectAsync(options.Mailboxes[number % options.Mailboxes.Length], ct);
        Commands = 0;
        Array.Clear(Kinds);
    }

    public async Task RunAsync(long deadline, CancellationToken ct)
    {
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var roll = _rng.Next(100);
            if (roll < 5)
            {
                await SelectAsync(options.Mailboxes[_rng.Next(options.Mailboxes.Length)], ct);
                continue;
            }
            if (roll >= 91)
            {
                await NoopAsync(ct);
                continue;
            }
            if (roll >= 82)
            {
                await IdleAsync(ct);
                continue;
            }
            if (roll >= 72 || _model.Count == 0)
            {
                await AppendAsync(ct);
                continue;
            }
            // The rest needs the UIDs of the messages: one sync learns those announced so far. Messages announced by
            // the end of the sync itself wait for the next one; the command picks among the known ones (skipping the
            // command and syncing again would make a server that announces every APPEND at once, as it may, pay
            // with extra syncs for being prompt).
            if (_model.Unknown() > 0)
            {
                await SyncAsync(ct);
            }
            if (_model.Known() == 0)
            {
                continue;
            }
            if (roll < 20)
            {
                await FetchAsync(ct);
            }
            else if (roll < 35)
            {
                await BodyAsync(ct);
            }
            else if (roll < 40)
            {
                await HeaderAsync(ct);
            }
            else if (roll < 60)
            {
                await StoreAsync(ct);
            }
            else if (_model.Count > options.MailboxSize / 2)
            {
                await ExpungeAsync(ct);
            }
            else
            {
                await AppendAsync(ct);
            }
        }
        await CommandAsync("LOGOUT", ct, allowBye: true);
    }

    private void Count(string kind) => Kinds[Array.IndexOf(KindNames, kind)]++;

    private async Task SelectAsync(string mailbox, CancellationToken ct)
    {
        await CommandAsync($"SELECT {mailbox}", ct, select: mailbox);
        Count("select");
        var validity = _model.UidValidity;
        if (validity == 0)
        {
            throw new ProtocolException($"SELECT {mailbox}: no UIDVALIDITY");
        }
        if (_validity.TryGetValue(mailbox, out var before) && before != validity)
        {
            throw new ProtocolException($"SELECT {mailbox}: UIDVALIDITY {validity}, before {before}");
        }
        _validity[mailbox] = validity;
        await CommandAsync("UID FETCH 1:* (UID FLAGS)", ct);
        Count("sync");
    }

    private async Task SyncAsync(CancellationToken ct)
    {
        var from = _model.MaxKnownUid() + 1;
        await CommandAsync(string.Create(CultureInfo.InvariantCulture, $"UID FETCH {from}:* (UID FLAGS)"), ct);
        Count("sync");
        if (_model.Unknown() > 0)
        {
            SyncsShort++;
        }
    }

    /// <summary>Indexes first..last of up to max consecutive messages, all with known UIDs.</summary>
    private (int First, int Last) Pick(int max)
    {
        var known = _model.Known();
        var first = _rng.Next(known);
        var last = Math.Min(known - 1, first + _rng.Next(max));
        return (first, last);
    }

    private async Task FetchAsync(CancellationToken ct)
    {
        var (first, last) = Pick(10);
        await RangeFetchAsync(first, last, "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)", "ENVELOPE", ct);
        Count("fetch");
    }

    private async Task HeaderAsync(CancellationToken ct)
    {
        var (first, last) = Pick(10);
        await RangeFetchAsync(first, last, "(UID BODY.PEEK[HEADER.FIELDS (From Subject Date)])", "BODY[HEADER.FIELDS (FROM SUBJECT DATE)]", ct);
        Count("header");
    }

    /// <summary>UID FETCH lo:hi ITEMS; each message of the range still in the model afterwards must have had a
    /// response with ITEM, unless the server said some were expunged.</summary>
    private async Task RangeFetchAsync(int first, int last, string items, string item, CancellationToken ct)
    {
        var lo = _model.Uids[first];
        var hi = _model.Uids[last];
        var got = new HashSet<long>();
        var reply = await CommandAsync(string.Create(CultureInfo.InvariantCulture, $"UID FETCH {lo}:{hi} {items}"), ct,
            onFetch: (fetch, uid) =>
            {
                if (uid is { } u && u >= lo && u <= hi && fetch.Keys.Any(k => k.Equals(item, StringComparison.OrdinalIgnoreCase)))
                {
                    got.Add(u);
                }
            });
        if (reply.Code == "EXPUNGEISSUED")
        {
            return;
        }
        foreach (var uid in _model.Uids)
        {
            if (uid >= lo && uid <= hi && !got.Contains(uid))
            {
                throw new ProtocolException($"UID FETCH {lo}:{hi}: no {item} for UID {uid}");
            }
        }
    }

    private async Task BodyAsync(CancellationToken ct)
    {
        var uid = _model.Uids[_rng.Next(_model.Known())];
        ImapString? body = null;
        long? size = null;
        var reply = await CommandAsync(string.Create(CultureInfo.InvariantCulture, $"UID FETCH {uid} (UID RFC822.SIZE BODY.PEEK[])"), ct,
            onFetch: (fetch, u) =>
            {
                if (u == uid && fetch.TryGetValue("BODY[]", out var value))
                {
                    if (value is ImapString s)
                    {
                        body = s;
                    }
                    else
                    {
                        NilBodies++;
                    }
                    size = fetch.TryGetValue("RFC822.SIZE", out var sz) ? long.Parse((string)sz, CultureInfo.InvariantCulture) : null;
                }
            });
        Count("body");
        if (body is null)
        {
            if (reply.Code != "EXPUNGEISSUED" && _model.Uids.Contains(uid))
            {
                throw new ProtocolException($"UID FETCH {uid} BODY.PEEK[]: no body for a message that exists");
            }
            return;
        }
        if (size != body.Octets.Length)
        {
            throw new ProtocolException($"UID {uid}: {body.Octets.Length} octets, RFC822.SIZE {size}");
        }
        CheckDigest(body.Octets, uid);
    }

    private async Task StoreAsync(CancellationToken ct)
    {
        // The FETCH FLAGS of the reply is not checked for the flag: it may already show another session's change
        // of the same flag (Dovecot reports the flags as they are when it answers, which is right).
        var uid = _model.Uids[_rng.Next(_model.Known())];
        var flag = StoreFlags[_rng.Next(StoreFlags.Length)];
        var add = _rng.Next(2) == 0;
        await CommandAsync(string.Create(CultureInfo.InvariantCulture, $"UID STORE {uid} {(add ? '+' : '-')}FLAGS ({flag})"), ct);
        Count("store");
    }

    private async Task ExpungeAsync(CancellationToken ct)
    {
        var known = _model.Known();
        var first = _rng.Next(known);
        var uids = new List<long> { _model.Uids[first] };
        if (first + 1 < known && _rng.Next(2) == 0)
        {
            uids.Add(_model.Uids[first + 1]);
        }
        await CommandAsync($"UID STORE {string.Join(',', uids)} +FLAGS.SILENT (\\Deleted)", ct);
        Count("delete");
        await CommandAsync("EXPUNGE", ct);
        Count("expunge");
        foreach (var uid in uids)
        {
            if (_model.Uids.Contains(uid))
            {
                throw new ProtocolException($"EXPUNGE: UID {uid}, marked \\Deleted, is still there");
            }
        }
    }

    private async Task AppendAsync(CancellationToken ct)
    {
        var mailbox = _rng.Next(2) == 0 ? _model.Name : options.Mailboxes[_rng.Next(options.Mailboxes.Length)];
        if (mailbox == _model.Name && _model.Count >= 2 * options.MailboxSize && _model.Unknown() == 0)
        {
            await ExpungeAsync(ct);
            return;
        }
        var message = NewMessage();
        var flags = _rng.Next(3) == 0 ? @"\Seen" : "";
        await CommandAsync(string.Create(CultureInfo.InvariantCulture, $"APPEND {mailbox} ({flags}) {{{message.Length}}}"), ct, literal: message);
        Count("append");
    }

    private async Task IdleAsync(CancellationToken ct)
    {
        var connection = _connection!;
        var tag = connection.NextTag();
        _command = "IDLE";
        _uidCommand = false;
        await connection.SendAsync($"{tag} IDLE\r\n", ct);
        Note($"C: {tag} IDLE");
        while (true)
        {
            var response = await connection.ReadResponseAsync(ct);
            Note($"S: {response.Raw}");
            if (response.Kind == ResponseKind.Continuation)
            {
                break;
            }
            if (response.Kind == ResponseKind.Tagged)
            {
                throw new ProtocolException($"IDLE: {response.Raw}");
            }
            Untagged(response, null);
        }
        _model.TakeChanged();
        var pending = connection.ReadResponseAsync(ct);
        if (await Task.WhenAny(pending, Task.Delay(options.IdleMilliseconds, ct)) == pending)
        {
            IdleUpdates++;
        }
        await connection.SendAsync("DONE\r\n"u8.ToArray(), ct);
        Note("C: DONE");
        while (true)
        {
            var response = await pending;
            Note($"S: {response.Raw}");
            if (response.Kind == ResponseKind.Tagged)
            {
                Completed(response, tag, allowExpungeIssued: false);
                break;
            }
            if (response.Kind == ResponseKind.Continuation)
            {
                throw new ProtocolException($"IDLE: a second continuation {response.Raw}");
            }
            Untagged(response, null);
            pending = connection.ReadResponseAsync(ct);
        }
        Count("idle");
    }

    private async Task NoopAsync(CancellationToken ct)
    {
        await CommandAsync("NOOP", ct);
        Count("noop");
    }

    /// <summary>Sends one command (and its literal once the server asks for it) and reads its responses up to its
    /// tagged one, checking each; returns the tagged one, which must be OK (or, for UID commands, NO
    /// [EXPUNGEISSUED]).</summary>
    private async Task<ImapResponse> CommandAsync(string command, CancellationToken ct, byte[]? literal = null,
        Action<Dictionary<string, object>, long?>? onFetch = null, string? select = null, bool allowBye = false)
    {
        var connection = _connection!;
        var tag = connection.NextTag();
        _command = command;
        _uidCommand = command.StartsWith("UID ", StringComparison.Ordinal);
        await connection.SendAsync($"{tag} {command}\r\n", ct);
        Note($"C: {tag} {command}");
        if (select is not null)
        {
            // RFC 9051 section 6.3.2: once SELECT is sent, responses are about the new mailbox.
            _model.Reset(select, 0);
        }
        var literalSent = literal is null;
        while (true)
        {
            var response = await connection.ReadResponseAsync(ct);
            Note($"S: {response.Raw}");
            switch (response.Kind)
            {
                case ResponseKind.Continuation when !literalSent:
                    await connection.SendAsync(literal!, ct);
                    await connection.SendAsync("\r\n"u8.ToArray(), ct);
                    literalSent = true;
                    continue;
                case ResponseKind.Continuation:
                    throw new ProtocolException($"{Verb(command)}: an unexpected continuation {response.Raw}");
                case ResponseKind.Tagged:
                    if (!literalSent && response.Status == "OK")
                    {
                        throw new ProtocolException($"{Verb(command)}: OK before the literal was sent");
                    }
                    Completed(response, tag, allowExpungeIssued: _uidCommand);
                    return response;
            }
            if (allowBye && response.Status == "BYE")
            {
                continue;
            }
            if (select is not null && response.Status == "OK" && response.Code == "UIDVALIDITY")
            {
                _model.UidValidity = long.TryParse(response.CodeArguments, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
                    ? v : throw new ProtocolException($"SELECT: a bad UIDVALIDITY {response.Raw}");
            }
            Untagged(response, onFetch);
        }
    }

    private void Completed(ImapResponse response, string tag, bool allowExpungeIssued)
    {
        if (response.Tag != tag)
        {
            throw new ProtocolException($"{Verb(_command)}: a tagged response for another tag: {response.Raw}");
        }
        if (response.Status == "OK")
        {
            Commands++;
            return;
        }
        if (response.Status == "NO" && allowExpungeIssued && response.Code == "EXPUNGEISSUED")
        {
            Commands++;
            ExpectedNo++;
            return;
        }
        throw new ProtocolException($"{Verb(_command)}: {response.Raw}");
    }

    /// <summary>An untagged response: updates the model and checks it.</summary>
    private void Untagged(ImapResponse response, Action<Dictionary<string, object>, long?>? onFetch)
    {
        if (response.Status is "BAD" or "NO" or "BYE")
        {
            throw new ProtocolException($"{Verb(_command)}: an untagged {response.Raw}");
        }
        switch (response.Name)
        {
            case "EXISTS":
                if (response.Number > _model.Count && !_command.StartsWith("SELECT", StringComparison.Ordinal))
                {
                    NewExists++;
                    Announced += response.Number - _model.Count;
                }
                _model.Exists(response.Number);
                break;
            case "EXPUNGE":
                // RFC 9051 section 7.5.1: not during FETCH, STORE or SEARCH, only their UID forms.
                if (!_uidCommand && Verb(_command) is "FETCH" or "STORE" or "SEARCH")
                {
                    throw new ProtocolException($"{Verb(_command)}: an EXPUNGE during it");
                }
                _model.Expunge(response.Number);
                break;
            case "FETCH":
                var items = FetchItems.Of(response);
                var uid = FetchItems.Uid(items, response.Raw);
                _model.Fetch(response.Number, uid);
                onFetch?.Invoke(items, uid);
                break;
        }
    }

    private static string Verb(string command)
    {
        var parts = command.Split(' ', 3);
        return parts[0] == "UID" && parts.Length > 1 ? parts[1] : parts[0];
    }

    /// <summary>A new message of 1-4 KiB, CRLF, with the SHA-256 of its body in X-Bench-Digest.</summary>
    private byte[] NewMessage()
    {
        var body = new StringBuilder();
        var size = _rng.Next(1024, 4096);
        var id = string.Create(CultureInfo.InvariantCulture, $"mixed-{number}-{_rng.Next()}");
        while (body.Length < size)
        {
            body.Append(CultureInfo.InvariantCulture, $"Appended by client {number + 1} of the mixed load, message {id}.\r\n");
        }
        var bodyBytes = Encoding.ASCII.GetBytes(body.ToString());
        var header = string.Create(CultureInfo.InvariantCulture,
            $"From: Client {number + 1} <client{number + 1}@example.test>\r\nTo: Mixed <mixed@example.test>\r\n" +
            $"Subject: Mixed load {id}\r\nDate: Sun, 6 Dec 2026 08:00:00 +0000\r\nMessage-ID: <{id}@example.test>\r\n" +
            $"X-Bench-Digest: {Convert.ToHexStringLower(SHA256.HashData(bodyBytes))}\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(header), .. bodyBytes];
    }

    /// <summary>The body (after the first empty line) must hash to the message's X-Bench-Digest.</summary>
    private static void CheckDigest(byte[] message, long uid)
    {
        var span = message.AsSpan();
        var split = span.IndexOf("\r\n\r\n"u8);
        var at = split < 0 ? -1 : span[..split].IndexOf("\r\nX-Bench-Digest: "u8);
        if (at < 0 || at + 18 + 64 > split)
        {
            throw new ProtocolException($"UID {uid}: no X-Bench-Digest header");
        }
        var expected = Encoding.ASCII.GetString(span.Slice(at + 18, 64));
        if (Convert.ToHexStringLower(SHA256.HashData(span[(split + 4)..])) != expected)
        {
            throw new ProtocolException($"UID {uid}: the body does not match its digest");
        }
    }

    public void Dispose() => _connection?.Dispose();
}
