// A POP3 reader of the soak: sessions one after another on one maildrop, each USER, PASS, UIDL, then RETR and DELE of
// up to a batch of messages, QUIT. Every message read is recorded in the ledger under its UIDL (a message read again
// after a session that failed before QUIT counts once); one whose deletion a QUIT committed must never come back.

using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

internal sealed class Pop3Reader(Options options, Ledger ledger, Stats stats, string user, int port, string kind)
{
    private const int MaxMessage = 16 * 1024 * 1024;
    private readonly HashSet<string> _committed = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly Random _random = new(options.Seed * 7 + user.GetHashCode(StringComparison.Ordinal));

    /// <summary>Sessions until <paramref name="stop"/> is cancelled, a pause of 0.2 to 2 s between them.</summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken hard)
    {
        while (!stop.IsCancellationRequested)
        {
            await SessionAsync(int.MaxValue, hard);
            try
            {
                await Task.Delay(_random.Next(200, 2000), stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>One session, reading and deleting up to <paramref name="batch"/> messages (the final pass reads all);
    /// returns how many it read, or -1 if it failed.</summary>
    public async Task<int> SessionAsync(int batch, CancellationToken hard)
    {
        var deleted = new List<string>();
        try
        {
            using var session = CancellationTokenSource.CreateLinkedTokenSource(hard);
            session.CancelAfter(TimeSpan.FromSeconds(options.SessionTimeoutSeconds));
            var ct = session.Token;
            using var connection = await Connection.OpenAsync(options.Host, port, ct);
            await connection.ExpectOkAsync("greeting", ct);
            await connection.SendAsync($"USER {user}", ct);
            await connection.ExpectOkAsync("USER", ct);
            await connection.SendAsync($"PASS {options.Password}", ct);
            await connection.ExpectOkAsync("PASS", ct);
            await connection.SendAsync("UIDL", ct);
            await connection.ExpectOkAsync("UIDL", ct);
            _buffer.Clear();
            await connection.ReadDotTerminatedAsync(_buffer, 16 * 1024 * 1024, ct);
            var listing = Encoding.ASCII.GetString(_buffer.WrittenSpan).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            stats.Add($"{kind}.sessions");
            var take = Math.Min(listing.Length, Math.Min(batch, options.Pop3Batch));
            for (var i = 0; i < take; i++)
            {
                var parts = listing[i].Split(' ');
                if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    throw new ProtocolException($"UIDL: bad line '{listing[i]}'");
                }
                var uidl = parts[1];
                if (_committed.Contains(uidl))
                {
                    ledger.Problem($"resurrected: {user} ({kind}) lists UIDL {uidl} again after a QUIT committed its deletion");
                }
                await connection.SendAsync(string.Create(CultureInfo.InvariantCulture, $"RETR {number}"), ct);
                await connection.ExpectOkAsync($"RETR {number}", ct);
                _buffer.Clear();
                await connection.ReadDotTerminatedAsync(_buffer, MaxMessage, ct);
                ledger.Record(user, uidl, _buffer.WrittenSpan);
                stats.Add($"{kind}.retrieved");
                stats.Add($"{kind}.octets", _buffer.WrittenCount);
                await connection.SendAsync(string.Create(CultureInfo.InvariantCulture, $"DELE {number}"), ct);
                await connection.ExpectOkAsync($"DELE {number}", ct);
                deleted.Add(uidl);
            }
            await connection.SendAsync("QUIT", ct);
            await connection.ExpectOkAsync("QUIT", ct);
            foreach (var uidl in deleted)
            {
                _committed.Add(uidl);
            }
            stats.Add($"{kind}.deleted", deleted.Count);
            return take;
        }
        catch (Exception ex) when (ex is ProtocolException or SocketException or IOException or OperationCanceledException)
        {
            if (!hard.IsCancellationRequested)
            {
                stats.Error($"{kind} session", $"{user}: {(ex is OperationCanceledException ? $"session timeout ({options.SessionTimeoutSeconds} s)" : ex.Message)}");
            }
            return -1;
        }
    }
}
