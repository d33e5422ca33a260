using System.Text;

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
        var reader = Task.Run(async () =>
        {
            var replies = 0;
            while (await c.ReadLineAsync() is not null)
            {
                replies++;
            }
            return replies;
        });
        await c.SendAsync(input.ToString());
        await c.CloseAsync(); // no QUIT: nothing may be deleted
        Assert.True(await c.EndedAsync(), "the session did not end");
        Assert.True(c.Session.IsCompletedSuccessfully, c.Session.Exception?.ToString());
        Assert.True(await reader > 10);
        Assert.Equal(2, (await h.Store.ListMessagesAsync("alice@example.test", "INBOX")).Count);
    }
}
