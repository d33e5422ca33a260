using System.Text;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

/// <summary>
/// Seeded random sessions mixing real commands, broken ones, binary junk, bare CR/LF, over-long lines and
/// message data: the session must never crash, must answer every complete line, and must close cleanly.
/// </summary>
public class GarbageInputTests
{
    private static readonly string[] s_pieces =
    [
        "EHLO x", "HELO y", "MAIL FROM:<a@example.org>", "MAIL FROM:<>", "RCPT TO:<alice@example.test>", "RCPT TO:<x@elsewhere.test>",
        "DATA", "BDAT 3", "BDAT 0 LAST", "RSET", "NOOP", "VRFY alice", "AUTH PLAIN", "AUTH PLAIN =", "AUTH LOGIN", "*", "STARTTLS",
        "MAIL FROM:<a@b> SIZE=99999999999999999999", "RCPT TO:<\"q\\\"x\"@example.test> NOTIFY=NEVER,SUCCESS", "MAIL FROM:<@r,@s:a@b>",
        "\0\0\0", "\r", "\n", ".", "..", "\u00ff\u00fe", "MAIL", "RCPT TO:", "BDAT x", "BDAT -1", "EHLO " + new string('h', 300),
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Random_garbage_never_crashes_the_session(int seed)
    {
        var random = new Random(seed);
        await using var h = new SmtpTestHarness(o =>
        {
            o.MaxErrors = 1000;
            o.MaxMessageSize = 4096;
            o.AllowPlaintextAuth = true;
            o.FailedAuthDelay = TimeSpan.Zero;
            o.MaxAuthFailures = 1000;
        });
        Assert.StartsWith("220 ", await h.ReadReplyAsync());
        var input = new StringBuilder();
        for (var i = 0; i < 300; i++)
        {
            var piece = random.Next(10) switch
            {
                0 => new string((char)random.Next(0, 256), random.Next(1, 50)),
                1 => new string('z', random.Next(2000, 6000)),
                _ => s_pieces[random.Next(s_pieces.Length)],
            };
            input.Append(piece).Append(random.Next(8) == 0 ? "\n" : "\r\n");
        }
        // End whatever state the junk left: finish any DATA, drain any BDAT chunk, then RSET and QUIT.
        input.Append("\r\n.\r\n").Append(new string('x', 10)).Append("\r\nRSET\r\nQUIT\r\n");
        var reader = Task.Run(async () =>
        {
            var replies = 0;
            string? last = null;
            while (await h.ReadLineAsync() is { } line)
            {
                replies++;
                last = line;
            }
            return (replies, last);
        });
        await h.SendAsync(Encoding.Latin1.GetBytes(input.ToString()));
        await h.CloseClientAsync();
        Assert.True(await h.EndedAsync(), "the session did not end");
        Assert.True(h.Session.IsCompletedSuccessfully, h.Session.Exception?.ToString());
        var (count, lastLine) = await reader;
        Assert.True(count > 10);
        Assert.NotNull(lastLine);
        Assert.Matches(@"^\d{3}[ -]", lastLine);
    }
}
