// The soak's senders. MX senders play other servers delivering to local users on the SMTP port (no AUTH), and now
// and then try to relay to the remote domain, which must be refused. Submission senders log in (AUTH PLAIN) and send
// mostly to the remote domain, which the host relays to its smart host. Each sender paces itself to its share of the
// rate, sends 1 to 5 messages per connection, and registers each message in the ledger before its DATA.

using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

internal sealed class Sender(Options options, Ledger ledger, Stats stats, bool submission, int number)
{
    private readonly Random _random = new(options.Seed * 1000 + (submission ? 500 : 0) + number);
    private readonly string _kind = submission ? "submission" : "smtp";
    private readonly string _login = submission ? options.SubmitUsers[number % options.SubmitUsers.Count] : "";

    /// <summary>Sends until <paramref name="stop"/> is cancelled; an I/O can take until <paramref name="hard"/>.</summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken hard)
    {
        var senders = submission ? options.SubmissionSenders : options.SmtpSenders;
        var rate = submission ? options.SubmissionRate : options.SmtpRate;
        var interval = TimeSpan.FromSeconds(senders / rate);
        var intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        var next = Stopwatch.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var session = CancellationTokenSource.CreateLinkedTokenSource(hard);
                session.CancelAfter(TimeSpan.FromSeconds(options.SessionTimeoutSeconds));
                using var connection = await Connection.OpenAsync(options.Host, submission ? options.SubmissionPort : options.SmtpPort, session.Token);
                await ExpectAsync(connection, 220, "greeting", session.Token);
                await CommandAsync(connection, $"EHLO soak-{_kind}-{number}.example.net", 250, session.Token);
                if (submission)
                {
                    var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{_login}\0{options.Password}"));
                    await CommandAsync(connection, $"AUTH PLAIN {plain}", 235, session.Token);
                }
                stats.Add($"{_kind}.sessions");
                var count = _random.Next(1, 6);
                for (var i = 0; i < count && !stop.IsCancellationRequested; i++)
                {
                    // Paced: each message is due one interval after the one before; a sender that fell behind catches
                    // up by at most a second's worth.
                    var due = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                    if (due > TimeSpan.Zero)
                    {
                        try
                        {
                            await Task.Delay(due, stop);
                        }
                        catch (OperationCanceledException)
                        {
                            break;
                        }
                    }
                    next = Math.Max(next, Stopwatch.GetTimestamp() - Stopwatch.Frequency) + intervalTicks;
                    await SendOneAsync(connection, session.Token);
                }
                await CommandAsync(connection, "QUIT", 221, session.Token);
            }
            catch (Exception ex) when (ex is ProtocolException or SocketException or IOException or OperationCanceledException)
            {
                if (_inFlight is { State: SendState.Pending } entry)
                {
                    // Cut off before the end of its data the message cannot have been taken; after it, it may have been.
                    entry.State = _dataSent ? SendState.Uncertain : SendState.Refused;
                    stats.Add(_dataSent ? $"{_kind}.uncertain" : $"{_kind}.cut_off");
                }
                _inFlight = null;
                if (hard.IsCancellationRequested)
                {
                    return;
                }
                stats.Error($"{_kind} session", ex is OperationCanceledException ? $"session timeout ({options.SessionTimeoutSeconds} s)" : ex.Message);
                await Pause(stop);
            }
        }
    }

    // The message being sent, and whether its data went out in full (for the catch of a failed session).
    private SentMessage? _inFlight;
    private bool _dataSent;

    // One transaction: MAIL, RCPT (each), DATA; the message is registered before MAIL so that a reader that finds it
    // before the 250 arrives knows it.
    private async Task SendOneAsync(Connection connection, CancellationToken ct)
    {
        var recipients = PickRecipients();
        var id = ledger.NewId(submission ? "s" : "m");
        var from = submission ? _login : $"sender{number}@soak-peer.example.net";
        var message = SoakMessage.Build(id, from, recipients, SoakMessage.DrawSize(_random), _random);
        var entry = ledger.Register(id, _kind, recipients, message);
        _inFlight = entry;
        _dataSent = false;
        var relayProbe = !submission && _random.Next(50) == 0
            ? options.RemoteUsers[_random.Next(options.RemoteUsers.Count)] : null;

        await CommandAsync(connection, $"MAIL FROM:<{from}> SIZE={message.Length}", 250, ct);
        var accepted = 0;
        foreach (var recipient in recipients)
        {
            await connection.SendAsync($"RCPT TO:<{recipient}>", ct);
            var code = await connection.ReadSmtpReplyAsync(ct);
            if (code == 250)
            {
                accepted++;
                continue;
            }
            stats.Error($"{_kind} RCPT refused", $"RCPT TO:<{recipient}>: {connection.LastReply}");
            Ledger.DropRecipient(entry, recipient);
        }
        if (relayProbe is not null)
        {
            // An MX session may not relay: RCPT to another domain without AUTH must be refused with 5xx.
            await connection.SendAsync($"RCPT TO:<{relayProbe}>", ct);
            var code = await connection.ReadSmtpReplyAsync(ct);
            if (code is >= 500 and < 600)
            {
                stats.Add("smtp.relay_refused");
            }
            else
            {
                stats.Error("open relay", $"RCPT TO:<{relayProbe}> without AUTH on the MX port: {connection.LastReply}");
                if (code == 250)
                {
                    lock (entry)
                    {
                        entry.Recipients.Add(relayProbe);
                        entry.Delivered = [.. entry.Delivered, 0];
                    }
                    accepted++;
                }
            }
        }
        if (accepted == 0)
        {
            entry.State = SendState.Refused;
            _inFlight = null;
            await CommandAsync(connection, "RSET", 250, ct);
            return;
        }
        await CommandAsync(connection, "DATA", 354, ct);
        await connection.SendAsync(Connection.DotStuffed(message), ct);
        _dataSent = true;
        var reply = await connection.ReadSmtpReplyAsync(ct);
        if (reply == 250)
        {
            entry.AcceptedAt = Stopwatch.GetTimestamp();
            entry.State = SendState.Accepted;
            stats.Add($"{_kind}.messages");
            stats.Add($"{_kind}.recipients", entry.Recipients.Count);
            stats.Add($"{_kind}.octets", message.Length);
        }
        else
        {
            entry.State = SendState.Refused;
            stats.Error($"{_kind} DATA refused", $"{id}: {connection.LastReply}");
        }
        _inFlight = null;
    }

    private List<string> PickRecipients()
    {
        var count = _random.Next(100) switch { < 60 => 1, < 90 => 2, _ => 3 };
        var pool = new List<string>();
        if (submission)
        {
            pool.AddRange(options.RemoteUsers);
            // A quarter of the submissions also go to a local user, delivered without leaving the host.
            if (_random.Next(4) == 0)
            {
                var local = LocalUsers();
                return [.. Distinct(pool, count - 1 > 0 ? count - 1 : 1), local[_random.Next(local.Count)]];
            }
            return Distinct(pool, count);
        }
        return Distinct(LocalUsers(), count);
    }

    // The local users who read their mail: POP3 and IMAP users, the IDLE user less often.
    private List<string> LocalUsers()
    {
        var users = new List<string>(options.Pop3Users);
        users.AddRange(options.ImapUsers);
        if (options.IdleUser is { } idle && _random.Next(3) == 0)
        {
            users.Add(idle);
        }
        return users;
    }

    private List<string> Distinct(List<string> pool, int count)
    {
        var picked = new List<string>(count);
        while (picked.Count < Math.Min(count, pool.Count))
        {
            var candidate = pool[_random.Next(pool.Count)];
            if (!picked.Contains(candidate))
            {
                picked.Add(candidate);
            }
        }
        return picked;
    }

    private static async Task CommandAsync(Connection connection, string command, int code, CancellationToken ct)
    {
        await connection.SendAsync(command, ct);
        await ExpectAsync(connection, code, command.StartsWith("AUTH", StringComparison.Ordinal) ? "AUTH" : command, ct);
    }

    private static async Task ExpectAsync(Connection connection, int code, string what, CancellationToken ct)
    {
        var reply = await connection.ReadSmtpReplyAsync(ct);
        if (reply != code)
        {
            throw new ProtocolException(string.Create(CultureInfo.InvariantCulture, $"{what}: {connection.LastReply} (expected {code})"));
        }
    }

    private static async Task Pause(CancellationToken stop)
    {
        try
        {
            await Task.Delay(1000, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
