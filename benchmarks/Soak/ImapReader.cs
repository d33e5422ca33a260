// The IMAP readers of the soak, over ImapLoad's checking connection (every response parsed, the mailbox model checked:
// EXISTS never shrinks, EXPUNGE and FETCH name messages that exist, UIDs ascend and never change).
//
// An IMAP reader runs sessions one after another on its user's INBOX: LOGIN, SELECT, then a few rounds of
// UID SEARCH UNDELETED, UID FETCH (UID RFC822.SIZE FLAGS BODY.PEEK[]) of the messages not read yet (each recorded in
// the ledger under UIDVALIDITY/UID), \Seen on them, \Flagged on a third of them, UID SEARCH FLAGGED UNDELETED (must
// find those), \Deleted on everything read except the ones just flagged (so they stay a round), EXPUNGE (must expunge
// exactly those), NOOP; then LOGOUT. The IDLE reader holds one session: it reads and expunges everything, IDLEs until an
// EXISTS (or 30 s), and again; a message accepted while it idled that no EXISTS announced is an error.

using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

/// <summary>A command-at-a-time IMAP client that keeps the selected mailbox's model up to date.</summary>
internal sealed class ImapClient : IDisposable
{
    private readonly CheckedConnection _connection;
    private bool _loggingOut;

    private ImapClient(CheckedConnection connection) => _connection = connection;

    public MailboxModel Model { get; } = new();

    /// <summary>EXISTS responses that raised the count since the last reset of this counter.</summary>
    public int ExistsSeen { get; set; }

    public static async Task<ImapClient> OpenAsync(Options options, CancellationToken ct) =>
        new(await CheckedConnection.OpenAsync(options.Host, options.ImapPort, ct));

    /// <summary>Sends a command, reads to its tagged reply (which must be OK) and returns the untagged responses.</summary>
    public async Task<List<ImapResponse>> CommandAsync(string command, CancellationToken ct)
    {
        var tag = _connection.NextTag();
        await _connection.SendAsync($"{tag} {command}\r\n", ct);
        return await CompleteAsync(tag, command, ct);
    }

    /// <summary>Reads responses up to the tagged reply of <paramref name="tag"/>, which must be OK.</summary>
    public async Task<List<ImapResponse>> CompleteAsync(string tag, string command, CancellationToken ct)
    {
        var untagged = new List<ImapResponse>();
        while (true)
        {
            var r = await _connection.ReadResponseAsync(ct);
            if (r.Kind == ResponseKind.Tagged)
            {
                if (r.Tag != tag || r.Status != "OK")
                {
                    throw new ProtocolException($"{Verb(command)}: {r.Raw}");
                }
                return untagged;
            }
            if (r.Kind == ResponseKind.Continuation)
            {
                throw new ProtocolException($"{Verb(command)}: an unexpected continuation: {r.Raw}");
            }
            Apply(r);
            untagged.Add(r);
        }
    }

    /// <summary>Sends a command that continues (IDLE) and reads to its continuation request.</summary>
    public async Task<string> StartAsync(string command, CancellationToken ct)
    {
        var tag = _connection.NextTag();
        await _connection.SendAsync($"{tag} {command}\r\n", ct);
        while (true)
        {
            var r = await _connection.ReadResponseAsync(ct);
            if (r.Kind == ResponseKind.Continuation)
            {
                return tag;
            }
            if (r.Kind == ResponseKind.Tagged)
            {
                throw new ProtocolException($"{command}: {r.Raw}");
            }
            Apply(r);
        }
    }

    public Task SendAsync(string text, CancellationToken ct) => _connection.SendAsync(text, ct);

    public Task<ImapResponse> ReadAsync(CancellationToken ct) => _connection.ReadResponseAsync(ct);

    /// <summary>Brings the model up to date with an untagged response.</summary>
    public void Apply(ImapResponse r)
    {
        switch (r.Name)
        {
            case "EXISTS":
                var before = Model.Count;
                Model.Exists(r.Number);
                if (r.Number > before)
                {
                    ExistsSeen++;
                }
                break;
            case "EXPUNGE":
                Model.Expunge(r.Number);
                break;
            case "FETCH":
                var items = FetchItems.Of(r);
                Model.Fetch(r.Number, FetchItems.Uid(items, r.Raw));
                break;
        }
        if (r.Status == "BYE" && !_loggingOut)
        {
            throw new ProtocolException($"the server said BYE: {r.Raw}");
        }
    }

    public async Task LoginAsync(string user, string password, CancellationToken ct) =>
        await CommandAsync($"LOGIN {user} {password}", ct);

    /// <summary>SELECT INBOX; returns its UIDVALIDITY.</summary>
    public async Task<long> SelectInboxAsync(CancellationToken ct)
    {
        Model.Reset("INBOX", 0);
        var untagged = await CommandAsync("SELECT INBOX", ct);
        var validity = untagged.FirstOrDefault(r => r.Code == "UIDVALIDITY")?.CodeArguments;
        if (!long.TryParse(validity, NumberStyles.None, CultureInfo.InvariantCulture, out var uidValidity))
        {
            throw new ProtocolException("SELECT INBOX: no UIDVALIDITY");
        }
        Model.UidValidity = uidValidity;
        return uidValidity;
    }

    /// <summary>UID SEARCH with the given keys; the UIDs found.</summary>
    public async Task<List<long>> UidSearchAsync(string keys, CancellationToken ct)
    {
        var found = new List<long>();
        foreach (var r in await CommandAsync($"UID SEARCH {keys}", ct))
        {
            if (r.Name != "SEARCH")
            {
                continue;
            }
            foreach (var value in r.Values)
            {
                found.Add(value is string s && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) && uid > 0
                    ? uid : throw new ProtocolException($"SEARCH: a bad UID: {r.Raw}"));
            }
        }
        return found;
    }

    public async Task LogoutAsync(CancellationToken ct)
    {
        _loggingOut = true;
        var untagged = await CommandAsync("LOGOUT", ct);
        if (!untagged.Any(r => r.Status == "BYE"))
        {
            throw new ProtocolException("LOGOUT: no BYE");
        }
    }

    /// <summary>A UID set of these UIDs (comma-separated).</summary>
    public static string Set(IEnumerable<long> uids) => string.Join(',', uids.Select(u => u.ToString(CultureInfo.InvariantCulture)));

    private static string Verb(string command) => command.StartsWith("LOGIN", StringComparison.Ordinal) ? "LOGIN" : command;

    public void Dispose() => _connection.Dispose();
}

/// <summary>One user's INBOX read over IMAP, by sessions (or by one IDLE session).</summary>
internal sealed class ImapReader(Options options, Ledger ledger, Stats stats, string user, bool idle)
{
    private const int FetchBatch = 25;
    private const int StoreBatch = 100;
    private static readonly TimeSpan s_idleTimeout = TimeSpan.FromSeconds(30);
    private readonly HashSet<long> _read = [];
    private readonly Random _random = new(options.Seed * 11 + user.GetHashCode(StringComparison.Ordinal));
    private readonly string _kind = idle ? "idle" : "imap";
    private long _uidValidity;

    /// <summary>IDLE latencies: from the 250 after DATA to reading the EXISTS, in milliseconds.</summary>
    public List<double> Latencies { get; } = [];

    public async Task RunAsync(CancellationToken stop, CancellationToken hard)
    {
        while (!stop.IsCancellationRequested)
        {
            if (idle)
            {
                await IdleSessionAsync(stop, hard);
            }
            else
            {
                await SessionAsync(final: false, stop, hard);
            }
            try
            {
                await Task.Delay(_random.Next(200, 2000), stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>One session; with <paramref name="final"/> it reads and expunges everything there is, flagging nothing.
    /// Returns false if it failed.</summary>
    public async Task<bool> SessionAsync(bool final, CancellationToken stop, CancellationToken hard)
    {
        // Not an IDLE's aftermath: what this session reads says nothing about announcements.
        _idleStart = 0;
        try
        {
            using var session = CancellationTokenSource.CreateLinkedTokenSource(hard);
            session.CancelAfter(TimeSpan.FromSeconds(options.SessionTimeoutSeconds * (final ? 10 : 1)));
            var ct = session.Token;
            using var client = await OpenAsync(ct);
            stats.Add($"{_kind}.sessions");
            var rounds = final ? int.MaxValue : _random.Next(3, 9);
            for (var round = 0; round < rounds && (final || !stop.IsCancellationRequested); round++)
            {
                var left = await RoundAsync(client, flag: !final, ct);
                if (final && left == 0)
                {
                    break;
                }
                await client.CommandAsync("NOOP", ct);
                if (!final)
                {
                    try
                    {
                        await Task.Delay(_random.Next(300, 2000), stop);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }
            await client.LogoutAsync(ct);
            return true;
        }
        catch (Exception ex) when (ex is ProtocolException or SocketException or IOException or OperationCanceledException)
        {
            if (!hard.IsCancellationRequested)
            {
                stats.Error($"{_kind} session", $"{user}: {(ex is OperationCanceledException ? $"session timeout ({options.SessionTimeoutSeconds} s)" : ex.Message)}");
            }
            return false;
        }
    }

    private async Task<ImapClient> OpenAsync(CancellationToken ct)
    {
        var client = await ImapClient.OpenAsync(options, ct);
        try
        {
            await client.LoginAsync(user, options.Password, ct);
            var validity = await client.SelectInboxAsync(ct);
            if (_uidValidity != 0 && validity != _uidValidity)
            {
                ledger.Problem($"{user}: INBOX's UIDVALIDITY changed from {_uidValidity} to {validity}");
                _read.Clear();
            }
            _uidValidity = validity;
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    // A round: search, fetch what is new, flag, search the flagged, delete and expunge. Returns how many undeleted
    // messages the search found.
    private async Task<int> RoundAsync(ImapClient client, bool flag, CancellationToken ct)
    {
        var undeleted = await client.UidSearchAsync("UNDELETED", ct);
        stats.Add($"{_kind}.searches");
        var fresh = undeleted.Where(u => !_read.Contains(u)).Take(flag ? FetchBatch : int.MaxValue).ToList();
        var flagged = new List<long>();
        foreach (var chunk in fresh.Chunk(FetchBatch))
        {
            await FetchAsync(client, chunk, ct);
            await client.CommandAsync($"UID STORE {ImapClient.Set(chunk)} +FLAGS.SILENT (\\Seen)", ct);
        }
        if (flag && fresh.Count > 0)
        {
            flagged.AddRange(fresh.Where(_ => _random.Next(3) == 0));
            if (flagged.Count > 0)
            {
                var untagged = await client.CommandAsync($"UID STORE {ImapClient.Set(flagged)} +FLAGS (\\Flagged)", ct);
                var answered = untagged.Count(r => r.Name == "FETCH" && FetchItems.Of(r).TryGetValue("FLAGS", out var f)
                    && f is List<object> list && list.Contains("\\Flagged"));
                if (answered < flagged.Count)
                {
                    throw new ProtocolException($"UID STORE +FLAGS (\\Flagged) of {flagged.Count} messages: {answered} FETCH responses show the flag");
                }
                stats.Add($"{_kind}.flagged", flagged.Count);
                var found = await client.UidSearchAsync("FLAGGED UNDELETED", ct);
                stats.Add($"{_kind}.searches");
                var missing = flagged.Except(found).ToList();
                if (missing.Count > 0)
                {
                    throw new ProtocolException($"UID SEARCH FLAGGED UNDELETED misses UIDs {ImapClient.Set(missing)} just flagged");
                }
            }
        }
        // Everything read goes, except what was flagged just now (it stays one round, or one session).
        var delete = undeleted.Where(u => _read.Contains(u)).Except(flagged).ToList();
        if (delete.Count > 0)
        {
            foreach (var chunk in delete.Chunk(StoreBatch))
            {
                await client.CommandAsync($"UID STORE {ImapClient.Set(chunk)} +FLAGS.SILENT (\\Deleted)", ct);
            }
            var expunged = (await client.CommandAsync("EXPUNGE", ct)).Count(r => r.Name == "EXPUNGE");
            if (expunged != delete.Count)
            {
                throw new ProtocolException($"EXPUNGE after marking {delete.Count} messages \\Deleted expunged {expunged}");
            }
            stats.Add($"{_kind}.expunged", expunged);
        }
        return undeleted.Count;
    }

    private async Task FetchAsync(ImapClient client, long[] uids, CancellationToken ct)
    {
        var untagged = await client.CommandAsync($"UID FETCH {ImapClient.Set(uids)} (UID RFC822.SIZE FLAGS BODY.PEEK[])", ct);
        var got = new HashSet<long>();
        foreach (var r in untagged.Where(r => r.Name == "FETCH"))
        {
            var items = FetchItems.Of(r);
            if (!items.TryGetValue("BODY[]", out var body))
            {
                continue; // an unsolicited FETCH (flags)
            }
            var uid = FetchItems.Uid(items, r.Raw) ?? throw new ProtocolException($"UID FETCH without a UID: {r.Raw}");
            if (body is not ImapString octets)
            {
                throw new ProtocolException($"UID FETCH {uid}: BODY[] is NIL");
            }
            if (items.TryGetValue("RFC822.SIZE", out var size) && size is string s
                && long.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture) != octets.Octets.Length)
            {
                throw new ProtocolException($"UID FETCH {uid}: RFC822.SIZE {s}, BODY[] {octets.Octets.Length} octets");
            }
            var id = ledger.Record(user, string.Create(CultureInfo.InvariantCulture, $"{_uidValidity}/{uid}"), octets.Octets);
            OnRead(id);
            _read.Add(uid);
            got.Add(uid);
            stats.Add($"{_kind}.fetched");
            stats.Add($"{_kind}.octets", octets.Octets.Length);
        }
        var missing = uids.Where(u => !got.Contains(u)).ToList();
        if (missing.Count > 0)
        {
            throw new ProtocolException($"UID FETCH of UIDs SEARCH found returned no body for {ImapClient.Set(missing)}");
        }
    }

    // The IDLE reader's hooks: which messages the EXISTS of the last IDLE announced, and when it ran.
    private long _idleStart;
    private long _idleEnd;
    private long _wokenAt;
    private bool _woken;

    private void OnRead(string? id)
    {
        if (!idle || _idleStart == 0 || ledger.Find(id) is not { AcceptedAt: > 0 } entry)
        {
            return;
        }
        if (_woken)
        {
            // Only messages accepted while the session idled: one accepted before the IDLE began was announced at its start.
            if (entry.AcceptedAt < _idleStart)
            {
                return;
            }
            Latencies.Add(Math.Max(0, Stopwatch.GetElapsedTime(entry.AcceptedAt, _wokenAt).TotalMilliseconds));
        }
        else if (entry.AcceptedAt > _idleStart && Stopwatch.GetElapsedTime(entry.AcceptedAt, _idleEnd) > TimeSpan.FromSeconds(5))
        {
            // Accepted while the session idled, at least 5 s before the IDLE ended, and no EXISTS came.
            stats.Error("idle missed", $"{id} was accepted {Stopwatch.GetElapsedTime(entry.AcceptedAt, _idleEnd).TotalSeconds:F1} s before the IDLE ended and no EXISTS announced it");
        }
    }

    private async Task IdleSessionAsync(CancellationToken stop, CancellationToken hard)
    {
        try
        {
            using var session = CancellationTokenSource.CreateLinkedTokenSource(hard);
            using var client = await OpenAsync(session.Token);
            stats.Add($"{_kind}.sessions");
            while (!stop.IsCancellationRequested)
            {
                // Read and expunge everything there is (a round per batch), then IDLE.
                session.CancelAfter(TimeSpan.FromSeconds(options.SessionTimeoutSeconds));
                while (await RoundAsync(client, flag: false, session.Token) > 0)
                {
                    _woken = false;
                    _idleStart = 0;
                }
                _idleStart = 0;
                session.CancelAfter(Timeout.InfiniteTimeSpan);
                await IdleAsync(client, stop, session.Token);
            }
            session.CancelAfter(TimeSpan.FromSeconds(options.SessionTimeoutSeconds));
            await client.LogoutAsync(session.Token);
        }
        catch (Exception ex) when (ex is ProtocolException or SocketException or IOException or OperationCanceledException)
        {
            if (!hard.IsCancellationRequested)
            {
                stats.Error($"{_kind} session", $"{user}: {ex.Message}");
            }
        }
    }

    // IDLE until an EXISTS raises the count, 30 s pass, or the soak stops; then DONE.
    private async Task IdleAsync(ImapClient client, CancellationToken stop, CancellationToken ct)
    {
        client.ExistsSeen = 0;
        var start = Stopwatch.GetTimestamp();
        var tag = await client.StartAsync("IDLE", ct);
        stats.Add("idle.idles");
        _idleStart = start;
        _woken = false;
        var read = client.ReadAsync(ct);
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            wait.CancelAfter(s_idleTimeout);
            var quiet = Task.Delay(Timeout.Infinite, wait.Token);
            while (true)
            {
                if (await Task.WhenAny(read, quiet) != read)
                {
                    break;
                }
                client.Apply(await read);
                if (client.ExistsSeen > 0)
                {
                    _woken = true;
                    _wokenAt = Stopwatch.GetTimestamp();
                    stats.Add("idle.wakeups");
                    break;
                }
                read = client.ReadAsync(ct);
            }
            await wait.CancelAsync();
            try
            {
                await quiet;
            }
            catch (OperationCanceledException)
            {
            }
        }
        _idleEnd = Stopwatch.GetTimestamp();
        await client.SendAsync("DONE\r\n", ct);
        if (!_woken)
        {
            // The read still pending gets what comes after DONE (an EXISTS sent just before it counts as an announcement).
            var r = await read;
            if (r.Kind == ResponseKind.Tagged)
            {
                if (r.Tag != tag || r.Status != "OK")
                {
                    throw new ProtocolException($"IDLE: {r.Raw}");
                }
                stats.Add("idle.timeouts");
                return;
            }
            client.Apply(r);
            if (client.ExistsSeen > 0)
            {
                _woken = true;
                _wokenAt = Stopwatch.GetTimestamp();
                stats.Add("idle.wakeups");
            }
        }
        await client.CompleteAsync(tag, "IDLE", ct);
        if (!_woken)
        {
            stats.Add("idle.timeouts");
        }
    }
}
