using System.Text;
using System.Text.RegularExpressions;

namespace Mail.Protocols.Pop3.Tests.Transcripts;

/// <summary>Seeded random sessions of real, broken and binary commands: the POP3 session never crashes and never deletes without QUIT.</summary>
public class GarbageInputTests
{
    private static readonly string[] s_pieces =
    [
        "USER alice@example.test", "PASS alice", "PASS wrong", "STAT", "LIST", "LIST 1", "LIST 99", "RETR 1", "RETR 0", "RETR -5",
        "TOP 1 0", "TOP 1 99999999999", "TOP 1", "DELE 1", "DELE 2", "RSET", "NOOP", "UIDL", "UIDL 1", "CAPA", "UTF8", "AUTH", "AUTH PLAIN",
        "AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9YWJj", "*", "APOP alice@example.test 0123", "STLS", "\0\0", "\r", ".", "\u00ff",
    ];

    // Every reply the session may give to this input: the status lines of Pop3Replies and the +OK forms.
    private static readonly Regex s_reply = new(
        @"^(\+OK( .*)?|\+ [A-Za-z0-9+/=]*|-ERR (Line too long|Unknown command|This command takes no arguments|Not logged in|Already logged in|"
        + @"Syntax: USER name|USER first|APOP not enabled|Syntax: APOP name digest|Unsupported authentication mechanism|Invalid base64|"
        + @"Malformed authentication exchange|Authentication cancelled|\[AUTH\] Authentication failed|STLS not available|Syntax: TOP msg n|"
        + @"Invalid message number|No such message|Message already deleted))$", RegexOptions.CultureInvariant);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Random_garbage_never_crashes_the_session_or_deletes_without_quit(int seed)
    {
        var random = new Random(seed);
        await using var h = new Pop3TestHarness(o =>
        {
            o.MaxErrors = 1000;
            o.MaxAuthFailures = 1000;
            o.FailedAuthDelay = TimeSpan.Zero;
        });
        await h.DeliverAsync("Subject: a\r\n\r\n.x\r\nbody\r\n");
        await h.DeliverAsync("Subject: b\r\n\r\nbody\r\n");
        var c = h.Connect();
        var input = new StringBuilder();
        for (var i = 0; i < 300; i++)
        {
            var piece = random.Next(10) switch
            {
                0 => new string((char)random.Next(0, 256), random.Next(1, 50)),
                1 => new string('z', random.Next(300, 3000)),
                _ => s_pieces[random.Next(s_pieces.Length)],
            };
            input.Append(piece).Append(random.Next(8) == 0 ? "\n" : "\r\n");
        }
        Assert.StartsWith("+OK pop.example.test POP3 ready", await c.ReadLineAsync());

        // The server ends a line at LF (a CR before it dropped): one line at a time, each gets exactly one reply.
        var lines = input.ToString().Split('\n')[..^1];
        var inExchange = false; // the last reply was a SASL challenge: this line answers it
        foreach (var raw in lines)
        {
            await c.SendAsync(raw + "\n");
            var line = raw.EndsWith('\r') ? raw[..^1] : raw;
            var reply = await c.ReadLineAsync();
            Assert.NotNull(reply);
            Assert.Matches(s_reply, reply);
            if (!inExchange && reply.StartsWith("+OK", StringComparison.Ordinal) && IsMultiLine(line))
            {
                while (await c.ReadLineAsync() is var body && body != ".")
                {
                    Assert.NotNull(body);
                }
            }
            inExchange = reply.StartsWith("+ ", StringComparison.Ordinal);
        }

        await c.CloseAsync(); // no QUIT: nothing may be deleted
        Assert.True(await c.EndedAsync(), "the session did not end");
        Assert.Null(await c.ReadLineAsync()); // nothing after the last reply, and the connection is closed
        Assert.True(c.Session.IsCompletedSuccessfully, c.Session.Exception?.ToString());
        Assert.Equal(2, (await h.Store.ListMessagesAsync("alice@example.test", "INBOX")).Count);
    }

    // The commands whose +OK is followed by lines up to "." (RFC 1939, RFC 2449; AUTH alone lists mechanisms).
    private static bool IsMultiLine(string line)
    {
        if (line.Length >= 3 && line[..3].Equals("TOP", StringComparison.OrdinalIgnoreCase) && (line.Length == 3 || line[3] == ' '))
        {
            return true;
        }
        if (line.Length < 4 || (line.Length > 4 && line[4] != ' '))
        {
            return false;
        }
        var verb = line[..4].ToUpperInvariant();
        var noArguments = line.Length <= 5;
        return verb is "CAPA" or "RETR" || (noArguments && verb is "LIST" or "UIDL" or "AUTH");
    }
}
