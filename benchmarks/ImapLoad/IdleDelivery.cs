// ImapLoad idle-delivery: C clients log in, SELECT INBOX and IDLE on it; then D messages are delivered one after
// another over SMTP (or LMTP with --lmtp) to the mailbox's owner, each once every client has seen the one before.
// For each message and client: the time from the delivery's end (the 250 after DATA) until that client reads
// the "* n EXISTS" that counts it. Every client must see every message within --wait seconds (a miss is an
// error). A unit is a delivery; the line adds latency_median_ms, latency_p99_ms, latency_max_ms (over all
// clients and messages), early (how many EXISTS came before the 250 reached us; counted as 0 ms) and
// smtp_median_ms (MAIL FROM to the 250 after DATA).

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

internal static class IdleDelivery
{
    public static async Task RunAsync(Options options, Result result, CancellationToken timeLimit)
    {
        var clients = options.Clients;
        var deliveries = options.Deliveries;
        // seen[c * deliveries + i]: when client c read the EXISTS that counts message i (Stopwatch ticks).
        var seen = new long[clients * deliveries];
        var seenBy = new int[deliveries];
        var allSeen = Enumerable.Range(0, deliveries)
            .Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var connections = new CheckedConnection[clients];
        var readers = new Task[clients];
        var failure = new CancellationTokenSource();
        var readerFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeLimit, failure.Token);
        try
        {
            // Untimed: every client logs in, selects INBOX and enters IDLE (the server's "+").
            var baseline = new int[clients];
            await Parallel.ForEachAsync(Enumerable.Range(0, clients), new ParallelOptions { MaxDegreeOfParallelism = 20, CancellationToken = timeLimit },
                async (c, ct) =>
                {
                    var connection = await CheckedConnection.OpenAsync(options.Host, options.Port, ct);
                    connections[c] = connection;
                    await Simple(connection, $"LOGIN \"{options.User}\" \"{options.Password}\"", ct);
                    var model = new MailboxModel();
                    await Simple(connection, "SELECT INBOX", ct, model);
                    baseline[c] = model.Count;
                    var tag = connection.NextTag();
                    await connection.SendAsync($"{tag} IDLE\r\n", ct);
                    while (true)
                    {
                        var response = await connection.ReadResponseAsync(ct);
                        if (response.Kind == ResponseKind.Continuation)
                        {
                            break;
                        }
                        Untagged(response, model, "IDLE");
                    }
                });
            if (baseline.Distinct().Count() != 1)
            {
                throw new ProtocolException($"the clients' INBOXes differ: {string.Join(",", baseline.Distinct())} messages");
            }
            var start = baseline[0];

            // Each client's reader: the EXISTS of each message, noted once.
            for (var c = 0; c < clients; c++)
            {
                var client = c;
                readers[c] = Task.Run(async () =>
                {
                    try
                    {
                        await ReadAsync(client);
                    }
                    catch (Exception ex)
                    {
                        readerFailed.TrySetException(ex);
                        throw;
                    }
                }, CancellationToken.None);
            }

            async Task ReadAsync(int client)
            {
                var model = new MailboxModel();
                model.Reset("INBOX", 0);
                model.Exists(start);
                var counted = 0;
                while (counted < deliveries)
                {
                    var response = await connections[client].ReadResponseAsync(linked.Token);
                    Untagged(response, model, "IDLE");
                    if (response.Name == "EXPUNGE")
                    {
                        throw new ProtocolException("an EXPUNGE during the deliveries: nothing deletes");
                    }
                    while (counted < deliveries && model.Count >= start + counted + 1)
                    {
                        seen[client * deliveries + counted] = response.Timestamp;
                        if (Interlocked.Increment(ref seenBy[counted]) == clients)
                        {
                            allSeen[counted].TrySetResult();
                        }
                        counted++;
                    }
                }
            }

            // Timed: the deliveries, one after another.
            using var smtp = await SmtpClient.OpenAsync(options, timeLimit);
            var ends = new long[deliveries];
            var smtpTimes = new double[deliveries];
            var cpu = ProcessTree.CpuTicks(options.CpuPid);
            var begin = Stopwatch.GetTimestamp();
            for (var i = 0; i < deliveries; i++)
            {
                var sent = Stopwatch.GetTimestamp();
                await smtp.DeliverAsync(Message(i), timeLimit);
                ends[i] = Stopwatch.GetTimestamp();
                smtpTimes[i] = Stopwatch.GetElapsedTime(sent, ends[i]).TotalMilliseconds;
                var waited = await Task.WhenAny(allSeen[i].Task, readerFailed.Task,
                    Task.Delay(TimeSpan.FromSeconds(options.WaitSeconds), timeLimit));
                if (waited == readerFailed.Task)
                {
                    await readerFailed.Task;
                }
                if (waited != allSeen[i].Task)
                {
                    throw new ProtocolException($"message {i + 1}: {clients - Volatile.Read(ref seenBy[i])} of {clients} clients saw no EXISTS for it within {options.WaitSeconds} s");
                }
                result.Units++;
            }
            result.Seconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
            result.CpuTicks = ProcessTree.CpuTicks(options.CpuPid) - cpu;
            await smtp.QuitAsync(timeLimit);
            await Task.WhenAll(readers);

            // Untimed: DONE, the IDLE's OK, LOGOUT.
            await Parallel.ForEachAsync(Enumerable.Range(0, clients), new ParallelOptions { MaxDegreeOfParallelism = 20, CancellationToken = timeLimit },
                async (c, ct) =>
                {
                    var connection = connections[c];
                    await connection.SendAsync("DONE\r\n", ct);
                    var response = await connection.ReadResponseAsync(ct);
                    while (response.Kind == ResponseKind.Untagged && response.Name is "RECENT" or "EXISTS" || response.Status == "OK" && response.Kind == ResponseKind.Untagged)
                    {
                        response = await connection.ReadResponseAsync(ct);
                    }
                    if (response.Kind != ResponseKind.Tagged || response.Status != "OK")
                    {
                        throw new ProtocolException($"DONE: {response.Raw}");
                    }
                    await Simple(connection, "LOGOUT", ct);
                });
            result.Bytes = connections.Sum(c => c.Received);

            var latencies = new List<double>(clients * deliveries);
            var early = 0;
            for (var c = 0; c < clients; c++)
            {
                for (var i = 0; i < deliveries; i++)
                {
                    var ms = Stopwatch.GetElapsedTime(ends[i], seen[c * deliveries + i]).TotalMilliseconds;
                    if (seen[c * deliveries + i] < ends[i])
                    {
                        early++;
                        ms = 0;
                    }
                    latencies.Add(ms);
                }
            }
            latencies.Sort();
            Array.Sort(smtpTimes);
            result.Extra = string.Create(CultureInfo.InvariantCulture,
                $" latency_median_ms={Percentile(latencies, 50):F2} latency_p99_ms={Percentile(latencies, 99):F2} latency_max_ms={latencies[^1]:F2}" +
                $" early={early} smtp_median_ms={Percentile(smtpTimes, 50):F2}");
        }
        finally
        {
            await failure.CancelAsync();
            foreach (var connection in connections)
            {
                connection?.Dispose();
            }
            failure.Dispose();
        }
    }

    /// <summary>The p-th percentile (nearest rank) of sorted values.</summary>
    private static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>A command whose tagged reply must be OK; its untagged responses update the model when given.</summary>
    private static async Task<ImapResponse> Simple(CheckedConnection connection, string command, CancellationToken ct, MailboxModel? model = null)
    {
        var tag = connection.NextTag();
        await connection.SendAsync($"{tag} {command}\r\n", ct);
        model?.Reset("INBOX", 0);
        while (true)
        {
            var response = await connection.ReadResponseAsync(ct);
            if (response.Kind == ResponseKind.Tagged)
            {
                if (response.Tag != tag || response.Status != "OK")
                {
                    throw new ProtocolException($"{command.Split(' ')[0]}: {response.Raw}");
                }
                return response;
            }
            if (response.Kind == ResponseKind.Continuation)
            {
                throw new ProtocolException($"{command.Split(' ')[0]}: an unexpected continuation {response.Raw}");
            }
            if (model is not null)
            {
                Untagged(response, model, command);
            }
            else if (response.Status is "BAD" or "NO")
            {
                throw new ProtocolException($"{command.Split(' ')[0]}: {response.Raw}");
            }
        }
    }

    /// <summary>An untagged response in the selected state: updates the model; BAD, NO and continuations are errors.</summary>
    private static void Untagged(ImapResponse response, MailboxModel model, string during)
    {
        if (response.Kind != ResponseKind.Untagged || response.Status is "BAD" or "NO" or "BYE")
        {
            throw new ProtocolException($"{during}: {response.Raw}");
        }
        switch (response.Name)
        {
            case "EXISTS": model.Exists(response.Number); break;
            case "EXPUNGE": model.Expunge(response.Number); break;
            case "FETCH": model.Fetch(response.Number, FetchItems.Uid(FetchItems.Of(response), response.Raw)); break;
        }
    }

    /// <summary>Message i: about 2 KiB, CRLF, a body with its digest in X-Bench-Digest.</summary>
    private static byte[] Message(int i)
    {
        var body = new StringBuilder();
        for (var line = 0; body.Length < 1800; line++)
        {
            body.Append(CultureInfo.InvariantCulture, $"Delivery {i + 1}, line {line}: the IDLE clients should each see this message once.\r\n");
        }
        var bodyBytes = Encoding.ASCII.GetBytes(body.ToString());
        var header = "From: Bench <bench@example.test>\r\n" +
            "To: Idle <idle@example.test>\r\n" +
            string.Create(CultureInfo.InvariantCulture, $"Subject: IDLE delivery {i + 1}\r\n") +
            "Date: Sun, 6 Dec 2026 08:00:00 +0000\r\n" +
            string.Create(CultureInfo.InvariantCulture, $"Message-ID: <idle-{i + 1}-{Environment.ProcessId}@example.test>\r\n") +
            $"X-Bench-Digest: {Convert.ToHexStringLower(SHA256.HashData(bodyBytes))}\r\n\r\n";
        return [.. Encoding.ASCII.GetBytes(header), .. bodyBytes];
    }
}

/// <summary>A plain SMTP (EHLO) or LMTP (LHLO) client that delivers messages one after another on one connection.</summary>
internal sealed class SmtpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly Options _options;
    private readonly byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;

    private SmtpClient(Socket socket, Options options)
    {
        _socket = socket;
        _options = options;
    }

    public static async Task<SmtpClient> OpenAsync(Options options, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var client = new SmtpClient(socket, options);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(options.Host), options.SmtpPort), ct);
            await client.ExpectAsync("220", "greeting", ct);
            await client.CommandAsync(options.Lmtp ? "LHLO client.example.test" : "EHLO client.example.test", "250", ct);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>MAIL FROM, RCPT TO (the IMAP user), DATA, the message (dot-stuffed) and its 250.</summary>
    public async Task DeliverAsync(byte[] message, CancellationToken ct)
    {
        await CommandAsync("MAIL FROM:<bench@example.test>", "250", ct);
        await CommandAsync($"RCPT TO:<{_options.User}>", "250", ct);
        await CommandAsync("DATA", "354", ct);
        var data = new List<byte>(message.Length + 16);
        var lineStart = true;
        foreach (var b in message)
        {
            if (lineStart && b == (byte)'.')
            {
                data.Add((byte)'.');
            }
            data.Add(b);
            lineStart = b == (byte)'\n';
        }
        data.AddRange(".\r\n"u8.ToArray());
        await SendAsync([.. data], ct);
        await ExpectAsync("250", "the end of DATA", ct);
    }

    public async Task QuitAsync(CancellationToken ct) => await CommandAsync("QUIT", "221", ct);

    private async Task CommandAsync(string command, string code, CancellationToken ct)
    {
        await SendAsync(Encoding.ASCII.GetBytes(command + "\r\n"), ct);
        await ExpectAsync(code, command, ct);
    }

    private async Task SendAsync(byte[] data, CancellationToken ct)
    {
        for (var sent = 0; sent < data.Length;)
        {
            sent += await _socket.SendAsync(data.AsMemory(sent), SocketFlags.None, ct);
        }
    }

    /// <summary>Reads a reply (its continuation lines too); its code must be the one given.</summary>
    private async Task ExpectAsync(string code, string what, CancellationToken ct)
    {
        while (true)
        {
            var line = await ReadLineAsync(ct);
            if (line.Length < 3 || !line.StartsWith(code, StringComparison.Ordinal))
            {
                throw new ProtocolException($"SMTP {what}: {line}");
            }
            if (line.Length == 3 || line[3] == ' ')
            {
                return;
            }
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer, _start, newline).TrimEnd('\r');
                _start += newline + 1;
                return line;
            }
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                throw new ProtocolException("an SMTP reply line too long");
            }
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct);
            if (read == 0)
            {
                throw new ProtocolException("the SMTP server closed the connection");
            }
            _end += read;
        }
    }

    public void Dispose() => _socket.Dispose();
}
