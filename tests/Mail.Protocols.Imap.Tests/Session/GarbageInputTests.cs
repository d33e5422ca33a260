using System.Text;
using System.Text.RegularExpressions;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>
/// Seeded random sessions of real, broken and binary commands: the IMAP session never crashes, and every line it sends
/// is one of its known responses (a tagged refusal is exactly one of <see cref="ImapReplies.For"/>, or BAD with the
/// parser's text).
/// </summary>
public sealed class GarbageInputTests
{
    private static readonly string[] s_pieces =
    [
        "CAPABILITY", "NOOP", "LOGIN alice@example.test alice", "LOGIN alice@example.test wrong", "LOGIN", "LOGIN {5+}\r\nalice alice",
        "AUTHENTICATE PLAIN", "AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZQ==", "AUTHENTICATE XFOO", "AUTHENTICATE PLAIN ===",
        "STARTTLS", "ID NIL", "ID (\"name\" \"garbage\")", "ID (", "ENABLE QRESYNC", "ENABLE IMAP4rev2", "ENABLE UTF8=ACCEPT", "ENABLE",
        "SELECT INBOX", "EXAMINE INBOX", "SELECT Nowhere", "SELECT INBOX (CONDSTORE)", "SELECT INBOX (QRESYNC (1 2 1:9))", "SELECT",
        "CREATE Work", "CREATE Sent (USE (\\Sent))", "CREATE INBOX", "DELETE Work", "DELETE INBOX", "RENAME Work Play", "RENAME Play Work",
        "SUBSCRIBE Work", "UNSUBSCRIBE Work", "LIST \"\" *", "LIST \"\" \"\"", "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" * RETURN (STATUS (MESSAGES UNSEEN))",
        "LIST (SPECIAL-USE) \"\" *", "LSUB \"\" *", "NAMESPACE", "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ RECENT)",
        "STATUS INBOX ()", "STATUS Nowhere (MESSAGES)",
        "APPEND INBOX {12}", "APPEND INBOX (\\Seen) {9+}\r\nx: y\r\n\r\nz", "APPEND Nowhere {3+}\r\nabc", "APPEND INBOX {99999999999}", "APPEND INBOX",
        "IDLE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "UID EXPUNGE 1:*",
        "FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)", "FETCH 1 BODY[]", "FETCH 1 BODY.PEEK[1]<0.10>", "FETCH * BINARY.PEEK[1]",
        "FETCH 1 (BODY[HEADER.FIELDS (SUBJECT FROM)] BODY[TEXT]<2.5>)", "FETCH 0 FLAGS", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1)", "FETCH 1 FAST", "FETCH $ ALL",
        "UID FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 1 VANISHED)", "UID FETCH 4294967295 FLAGS", "FETCH 1 (", "FETCH 1 BODY[99.99]",
        "SEARCH ALL", "SEARCH RETURN (MIN MAX COUNT ALL SAVE) OR SUBJECT a FROM b", "UID SEARCH $", "SEARCH CHARSET KOI8-R ALL", "SEARCH (((",
        "SEARCH MODSEQ 1", "SEARCH NOT (SEEN UNSEEN) BEFORE 1-Jan-2000 LARGER 5", "SEARCH UID 1:*", "SEARCH CHARSET UTF-8 BODY {3+}\r\nfoo",
        "STORE 1 +FLAGS (\\Deleted)", "STORE 1:* -FLAGS.SILENT (\\Seen)", "UID STORE 1 (UNCHANGEDSINCE 1) +FLAGS ($Work)", "STORE 1 FLAGS (\\Recent)",
        "COPY 1 Work", "COPY 1:* INBOX", "MOVE 1 Work", "UID MOVE 1:* INBOX", "UID COPY 1 Nowhere", "UID", "UID FROB", "FROBNICATE",
        "\0\0", "*", "+", "(", ")", "{5}", "\u00ff\u00fe",
    ];

    // Every untagged response the session may send.
    private static readonly Regex s_untagged = new(
        @"^\* (OK( \[[^\]]+\])? .+|NO .+|BAD .+|BYE .+|CAPABILITY IMAP4rev1 IMAP4rev2 .+|FLAGS \(.*\)|\d+ (EXISTS|RECENT|EXPUNGE)|\d+ FETCH \(.+"
        + @"|SEARCH( \d+)*( \(MODSEQ \d+\))?|ESEARCH \(TAG ""[^""]+""\).*|LIST \(.*\) ""/"" .+|LSUB \(.*\) ""/"" .+|STATUS .+ \(.*\)"
        + @"|NAMESPACE .+|ENABLED( [A-Z0-9=]+)*|ID .+|VANISHED( \(EARLIER\))? [\d:,]+)$",
        RegexOptions.CultureInvariant);

    // The texts of the tagged refusals (after "tag "), from the one table of replies.
    private static readonly HashSet<string> s_refusals = Enum.GetValues<ImapRejectReason>()
        .Where(r => r != ImapRejectReason.SyntaxError)
        .Select(r => Encoding.ASCII.GetString(ImapReplies.For(r)).TrimEnd('\r', '\n'))
        .ToHashSet(StringComparer.Ordinal);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Random_garbage_never_crashes_the_session_and_every_reply_is_a_known_one(int seed)
    {
        var random = new Random(seed);
        await using var h = new ImapTestHarness(o =>
        {
            o.MaxErrors = 10_000;
            o.MaxAuthFailures = 10_000;
        });
        await h.DeliverAsync("From: Ann <ann@example.org>\r\nSubject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b--\r\n");
        await h.DeliverAsync("Subject: b\r\n\r\nbody\r\n");
        var c = h.Connect();
        Assert.StartsWith("* OK [CAPABILITY ", await c.ReadLineAsync());

        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < 300; i++)
        {
            var tag = "g" + i;
            var tagged = true;
            string line;
            switch (random.Next(12))
            {
                case 0:
                    line = tag + " " + Garbage(random);
                    break;
                case 1:
                    line = Garbage(random); // no tag of ours: answered with an untagged or a tagged BAD
                    tagged = false;
                    break;
                case 2:
                    line = tag + " " + new string('z', 70_000); // past the line limit: untagged BAD [TOOBIG]
                    tagged = false;
                    break;
                default:
                    line = tag + " " + s_pieces[random.Next(s_pieces.Length)];
                    break;
            }
            await c.SendAsync(line + (random.Next(8) == 0 ? "\n" : "\r\n"));
            var status = await ReadRepliesAsync(c, tagged ? tag : null);
            outcomes[status] = outcomes.GetValueOrDefault(status) + 1;
        }
        // The run went through both sides: commands that worked (after a login) and refusals.
        Assert.True(outcomes.GetValueOrDefault("OK") > 30 && outcomes.GetValueOrDefault("BAD") > 30 && outcomes.GetValueOrDefault("NO") > 5,
            string.Join(", ", outcomes));

        Assert.Equal("* BYE Logging out", (await c.CommandAsync("z1", "LOGOUT"))[0]);
        Assert.True(await c.EndedAsync(), "the session did not end");
        Assert.True(c.Session.IsCompletedSuccessfully, c.Session.Exception?.ToString());
    }

    // Random octets without line ends, and not ending in a literal header (which would make the server wait for octets).
    private static string Garbage(Random random)
    {
        var chars = new char[random.Next(1, 50)];
        for (var i = 0; i < chars.Length; i++)
        {
            var octet = (char)random.Next(0, 256);
            chars[i] = octet is '\r' or '\n' ? ' ' : octet;
        }
        if (chars[^1] == '}')
        {
            chars[^1] = 'x';
        }
        return new string(chars);
    }

    // Reads the replies to one line (and returns the status of the last: OK, NO or BAD): up to the tagged reply of `tag`, or for a line without our tag up to the first
    // tagged or untagged BAD. Continuation requests are answered (the octets of a literal, DONE for IDLE, "*" for SASL),
    // and literals inside FETCH responses are read as octets.
    private static async Task<string> ReadRepliesAsync(ImapTestHarness.Client c, string? tag)
    {
        while (true)
        {
            var line = await c.ReadLineAsync();
            Assert.NotNull(line);
            if (line.StartsWith("* ", StringComparison.Ordinal))
            {
                // A response with literals goes on after each one's octets; its first line is what is checked.
                var rest = line;
                while (LiteralAtEnd(rest) is { } octets)
                {
                    Assert.Equal(octets, (await c.ReadOctetsAsync(octets)).Length);
                    rest = await c.ReadLineAsync();
                    Assert.NotNull(rest);
                }
            }
            if (line.StartsWith("+ ", StringComparison.Ordinal) || line == "+")
            {
                await c.SendAsync(line switch
                {
                    "+ Ready for literal data" => new string('x', 12) + "\r\n",
                    "+ idling" => "DONE\r\n",
                    _ => "*\r\n",
                });
                continue;
            }
            if (line.StartsWith("* ", StringComparison.Ordinal))
            {
                Assert.Matches(s_untagged, line);
                if (tag is null && line.StartsWith("* BAD ", StringComparison.Ordinal))
                {
                    return "BAD";
                }
                continue;
            }
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            Assert.True(space > 0, "not a response: " + line);
            var text = line[(space + 1)..];
            Assert.True(text.StartsWith("OK ", StringComparison.Ordinal) || s_refusals.Contains(text)
                || text.StartsWith("BAD ", StringComparison.Ordinal) && text.Length > 4 && !text.Contains('\0', StringComparison.Ordinal),
                "unknown reply: " + line);
            if (tag is null || line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                return text[..text.IndexOf(' ', StringComparison.Ordinal)];
            }
        }
    }

    private static int? LiteralAtEnd(string line)
    {
        if (!line.EndsWith('}'))
        {
            return null;
        }
        var open = line.LastIndexOf('{');
        return open >= 0 && int.TryParse(line.AsSpan(open + 1, line.Length - open - 2), out var octets) ? octets : null;
    }
}
