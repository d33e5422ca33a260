// `ImapLoad resync --messages N [--changes K] [--rounds R]`: a client that comes back to a folder it has
// cached resynchronizes with one QRESYNC SELECT (RFC 7162 §3.2.5) after another session changed K messages'
// flags and expunged K others.
//
// Two connections as the same user. The client LOGINs, ENABLEs QRESYNC, SELECTs INBOX (EXISTS must be N) and
// learns its cache untimed: UIDVALIDITY, every UID (UID SEARCH ALL) and the \Answered ones, then UNSELECTs.
// The other session LOGINs and SELECTs INBOX. Then R rounds, each:
//   1. the client records the state it knows: STATUS INBOX (HIGHESTMODSEQ) (untimed);
//   2. the other session (after a NOOP, to see the messages copied in last round) toggles \Answered on K messages (UID STORE +FLAGS.SILENT / -FLAGS.SILENT), spread
//      evenly over the folder from an offset that moves every round, and expunges K others (UID STORE
//      +FLAGS.SILENT (\Deleted), UID EXPUNGE): every other one of the 2K lowest UIDs, so the UIDs the
//      client knows stay a short set (the old end of the folder is thinned out, the rest is whole) (untimed);
//   3. timed: SELECT INBOX (QRESYNC (uidvalidity modseq known-uids)) with the modseq of step 1 and the exact
//      UIDs the client knows; the octets received and the server's CPU are counted over this command alone;
//   4. checks: the UIDVALIDITY is the cached one, EXISTS is the cache's count less K, VANISHED (EARLIER) names
//      exactly the K expunged UIDs, and the FETCH responses are exactly the K changed messages, each with a
//      MODSEQ above the one of step 1 and \Answered as toggled; then UNSELECT (untimed);
//   5. a third session, with the folder "Reserve" selected (made untimed the first time: K messages of 4 KiB,
//      APPENDed), COPYs its first K messages to INBOX (UIDPLUS is required: the client adds the UIDs of
//      COPYUID to its cache), so the folder keeps N messages from round to round (untimed).
// Each round thus changes other messages than the round before and starts from a state the client knows
// exactly. A unit is a resync; --min-seconds does not apply (each round does far more untimed work than timed).

using System.Diagnostics;
using System.Globalization;
using System.Text;

internal static partial class Runs
{
    public static async Task ResyncAsync(Options options, Result result, CancellationToken timeLimit)
    {
        var changes = options.Changes;
        using var client = await ImapConnection.OpenAsync(options, timeLimit);
        using var other = await ImapConnection.OpenAsync(options, timeLimit);
        await client.CommandAsync($"LOGIN \"{options.User}\" \"{options.Password}\"", cancellationToken: timeLimit);
        var capabilities = await client.CapabilitiesAsync(timeLimit);
        foreach (var needed in new[] { "QRESYNC", "UIDPLUS" })
        {
            if (!capabilities.Contains(needed))
            {
                throw new ProtocolException($"the server does not offer {needed}");
            }
        }
        var literalPlus = capabilities.Contains("LITERAL+");
        var enabled = false;
        await client.CommandAsync("ENABLE QRESYNC", span => enabled |= span.StartsWith("* ENABLED "u8)
            && Encoding.ASCII.GetString(span).Contains(" QRESYNC", StringComparison.OrdinalIgnoreCase), cancellationToken: timeLimit);
        if (!enabled)
        {
            throw new ProtocolException("ENABLE QRESYNC: no ENABLED QRESYNC");
        }

        // The client's cache.
        long uidValidity = 0;
        var select = await client.CommandAsync("SELECT INBOX", span =>
        {
            if (span.StartsWith("* OK [UIDVALIDITY "u8))
            {
                uidValidity = ImapConnection.Number(span, "UIDVALIDITY "u8);
            }
        }, cancellationToken: timeLimit);
        if (options.Messages is { } expected && select.Exists != expected)
        {
            throw new ProtocolException($"SELECT INBOX: {select.Exists} messages, expected {expected}");
        }
        var known = new SortedSet<long>(await SearchUidsAsync(client, "UID SEARCH ALL", timeLimit));
        var answered = new HashSet<long>(await SearchUidsAsync(client, "UID SEARCH ANSWERED", timeLimit));
        if (known.Count != select.Exists || uidValidity == 0)
        {
            throw new ProtocolException($"SELECT INBOX: {select.Exists} messages, UID SEARCH ALL {known.Count}, UIDVALIDITY {uidValidity}");
        }
        if (known.Count < 4 * changes)
        {
            throw new ProtocolException($"--changes {changes} needs a folder of at least {4 * changes} messages");
        }
        await client.CommandAsync("UNSELECT", cancellationToken: timeLimit);
        await other.LoginAndSelectAsync(options, timeLimit);
        using var refiller = await OpenReserveAsync(options, literalPlus, timeLimit);

        for (var round = 0; round < options.Rounds; round++)
        {
            // 1. The state the client knows.
            long modSeq = -1;
            await client.CommandAsync("STATUS INBOX (HIGHESTMODSEQ)", span =>
            {
                if (span.StartsWith("* STATUS "u8))
                {
                    modSeq = ImapConnection.Number(span, "HIGHESTMODSEQ "u8);
                }
            }, cancellationToken: timeLimit);
            if (modSeq < 0)
            {
                throw new ProtocolException("STATUS INBOX (HIGHESTMODSEQ): no STATUS response");
            }

            // 2. Another session's changes. It first learns of the messages copied in last round (NOOP): a UID
            // STORE of UIDs that its view of the folder does not hold yet would change nothing.
            await other.CommandAsync("NOOP", cancellationToken: timeLimit);
            var uids = known.ToArray();
            var expunged = new List<long>(changes);
            for (var i = 0; i < 2 * changes; i += 2)
            {
                expunged.Add(uids[i]);
            }
            var rest = uids.AsSpan(2 * changes);
            var stride = rest.Length / changes;
            var changed = new List<long>(changes);
            for (var k = 0; k < changes; k++)
            {
                changed.Add(rest[round % stride + k * stride]);
            }
            var plus = changed.Where(uid => !answered.Contains(uid)).ToList();
            var minus = changed.Where(answered.Contains).ToList();
            if (plus.Count > 0)
            {
                await other.CommandAsync($"UID STORE {UidSet(plus)} +FLAGS.SILENT (\\Answered)", cancellationToken: timeLimit);
            }
            if (minus.Count > 0)
            {
                await other.CommandAsync($"UID STORE {UidSet(minus)} -FLAGS.SILENT (\\Answered)", cancellationToken: timeLimit);
            }
            answered.UnionWith(plus);
            answered.ExceptWith(minus);
            await other.CommandAsync($"UID STORE {UidSet(expunged)} +FLAGS.SILENT (\\Deleted)", cancellationToken: timeLimit);
            await other.CommandAsync($"UID EXPUNGE {UidSet(expunged)}", cancellationToken: timeLimit);

            // 3. The resync, timed.
            var command = string.Create(CultureInfo.InvariantCulture, $"SELECT INBOX (QRESYNC ({uidValidity} {modSeq} {UidSet(known)}))");
            var lines = new List<string>(2 * changes + 16);
            var received = client.Received;
            var cpu = ProcessTree.CpuTicks(options.CpuPid);
            var start = Stopwatch.GetTimestamp();
            var reply = await client.CommandAsync(command, span =>
            {
                if (span.StartsWith("* VANISHED "u8) || span.StartsWith("* OK [UIDVALIDITY "u8) || span.IndexOf(" FETCH ("u8) > 0)
                {
                    lines.Add(Encoding.ASCII.GetString(span));
                }
            }, cancellationToken: timeLimit);
            result.Seconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
            result.CpuTicks += ProcessTree.CpuTicks(options.CpuPid) - cpu;
            result.Bytes += client.Received - received;

            // 4. What the resync said.
            known.ExceptWith(expunged);
            CheckResync(lines, reply.Exists, uidValidity, modSeq, known.Count, expunged, changed, answered);
            result.Units++;
            result.Hits = changes;
            await client.CommandAsync("UNSELECT", cancellationToken: timeLimit);

            // 5. The folder back to its size.
            var copy = await refiller.ContinuedCommandAsync(string.Create(CultureInfo.InvariantCulture, $"COPY 1:{changes} INBOX"), [],
                waitForContinuation: false, timeLimit);
            var copied = CopiedUids(copy, uidValidity);
            if (copied.Count != changes || copied.Any(uid => !known.Add(uid)))
            {
                throw new ProtocolException($"COPY 1:{changes} INBOX: {copy}");
            }
        }
        await client.LogoutAsync(timeLimit);
        await other.LogoutAsync(timeLimit);
        await refiller.LogoutAsync(timeLimit);
    }

    /// <summary>A session with the folder Reserve selected, which holds at least --changes messages.</summary>
    private static async Task<ImapConnection> OpenReserveAsync(Options options, bool literalPlus, CancellationToken timeLimit)
    {
        var connection = await ImapConnection.OpenAsync(options, timeLimit);
        try
        {
            await connection.CommandAsync($"LOGIN \"{options.User}\" \"{options.Password}\"", cancellationToken: timeLimit);
            var listed = false;
            await connection.CommandAsync("LIST \"\" Reserve", span => listed |= span.StartsWith("* LIST "u8), cancellationToken: timeLimit);
            if (!listed)
            {
                await connection.CommandAsync("CREATE Reserve", cancellationToken: timeLimit);
            }
            var select = await connection.CommandAsync("SELECT Reserve", cancellationToken: timeLimit);
            var (message, sequenceAt) = MessageFactory.Build(4096, $"reserve-{Environment.ProcessId}", 4);
            for (var n = select.Exists + 1; n <= options.Changes; n++)
            {
                MessageFactory.Number(message, sequenceAt, n);
                await connection.AppendAsync("Reserve", message, literalPlus, timeLimit);
            }
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The destination UIDs of "[COPYUID uidvalidity source-uids destination-uids]" (RFC 4315).</summary>
    private static List<long> CopiedUids(string taggedText, long uidValidity)
    {
        var at = taggedText.IndexOf("[COPYUID ", StringComparison.OrdinalIgnoreCase);
        var words = at < 0 ? [] : taggedText[(at + 9)..].Split(' ', ']');
        if (words.Length < 3 || words[0] != uidValidity.ToString(CultureInfo.InvariantCulture))
        {
            throw new ProtocolException($"COPY: no COPYUID of UIDVALIDITY {uidValidity} in OK {taggedText}");
        }
        return [.. ParseUidSet(words[2])];
    }

    private static void CheckResync(List<string> lines, int exists, long uidValidity, long modSeq, int count,
        List<long> expunged, List<long> changed, HashSet<long> answered)
    {
        if (exists != count)
        {
            throw new ProtocolException($"QRESYNC SELECT: EXISTS {exists}, expected {count}");
        }
        var vanished = new HashSet<long>();
        var fetched = new HashSet<long>();
        foreach (var line in lines)
        {
            var span = Encoding.ASCII.GetBytes(line).AsSpan();
            if (line.StartsWith("* OK [UIDVALIDITY ", StringComparison.Ordinal))
            {
                if (ImapConnection.Number(span, "UIDVALIDITY "u8) != uidValidity)
                {
                    throw new ProtocolException($"QRESYNC SELECT: {line}, the client knows UIDVALIDITY {uidValidity}");
                }
            }
            else if (line.StartsWith("* VANISHED (EARLIER) ", StringComparison.OrdinalIgnoreCase))
            {
                vanished.UnionWith(ParseUidSet(line[21..]));
            }
            else if (line.StartsWith("* VANISHED ", StringComparison.OrdinalIgnoreCase))
            {
                throw new ProtocolException($"QRESYNC SELECT: VANISHED without (EARLIER): {line}");
            }
            else
            {
                var uid = ImapConnection.Number(span, "UID "u8);
                var lineModSeq = ImapConnection.Number(span, "MODSEQ ("u8);
                var flagsAt = line.IndexOf("FLAGS (", StringComparison.Ordinal);
                if (flagsAt < 0 || lineModSeq <= modSeq || !fetched.Add(uid))
                {
                    throw new ProtocolException($"QRESYNC SELECT: {line} (known MODSEQ {modSeq})");
                }
                var flags = line[(flagsAt + 7)..line.IndexOf(')', flagsAt)];
                if (flags.Contains("\\Answered", StringComparison.OrdinalIgnoreCase) != answered.Contains(uid))
                {
                    throw new ProtocolException($"QRESYNC SELECT: {line}, but \\Answered was {(answered.Contains(uid) ? "set" : "cleared")}");
                }
            }
        }
        if (!vanished.SetEquals(expunged))
        {
            throw new ProtocolException($"QRESYNC SELECT: VANISHED (EARLIER) {UidSet(vanished)}, expunged {UidSet(expunged)}");
        }
        if (!fetched.SetEquals(changed))
        {
            throw new ProtocolException($"QRESYNC SELECT: FETCH of {UidSet(fetched)}, changed {UidSet(changed)}");
        }
    }

    /// <summary>The UIDs of a UID SEARCH (one or more "* SEARCH" responses).</summary>
    private static async Task<List<long>> SearchUidsAsync(ImapConnection connection, string command, CancellationToken cancellationToken)
    {
        var uids = new List<long>();
        await connection.CommandAsync(command, span =>
        {
            if (span.StartsWith("* SEARCH"u8))
            {
                foreach (var word in Encoding.ASCII.GetString(span[8..]).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    uids.Add(long.Parse(word, NumberStyles.None, CultureInfo.InvariantCulture));
                }
            }
        }, cancellationToken: cancellationToken);
        return uids;
    }

    /// <summary>UIDs (any order) as a sequence set: runs become ranges.</summary>
    private static string UidSet(IEnumerable<long> uids)
    {
        var text = new StringBuilder();
        long first = -1, last = -1;
        foreach (var uid in uids.Order())
        {
            if (uid == last + 1 && first >= 0)
            {
                last = uid;
                continue;
            }
            Append();
            first = last = uid;
        }
        Append();
        return text.ToString();

        void Append()
        {
            if (first < 0)
            {
                return;
            }
            text.Append(text.Length > 0 ? "," : "").Append(first.ToString(CultureInfo.InvariantCulture));
            if (last > first)
            {
                text.Append(':').Append(last.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>The UIDs of a uid-set without "*" ("3,5:7").</summary>
    private static IEnumerable<long> ParseUidSet(string set)
    {
        foreach (var item in set.Trim().Split(','))
        {
            var bounds = item.Split(':');
            if (bounds.Length is < 1 or > 2
                || !long.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var a)
                || !long.TryParse(bounds[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var b))
            {
                throw new ProtocolException($"bad UID set {set}");
            }
            if (Math.Abs(a - b) > 10_000_000)
            {
                throw new ProtocolException($"a UID range too long to list: {item}");
            }
            for (var uid = Math.Min(a, b); uid <= Math.Max(a, b); uid++)
            {
                yield return uid;
            }
        }
    }
}
