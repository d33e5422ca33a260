using Mail.Protocols.Hosting;

namespace Mail.Protocols.Pop3.Tests.Tls;

/// <summary>
/// SCRAM's made-up salt for a login that does not exist must behave like a real user's salt under every spelling a
/// client can try, over a real TLS socket with a raw client: two spellings that name one user (by the login normal
/// form, NFKC then lower case) show one salt, two that name two users show two, whether or not the user exists.
/// Otherwise comparing the salts of two spellings tells which logins are real.
/// </summary>
public sealed class ScramUnknownLoginTests
{
    private const string Alice = "alice@example.test";
    private const string Sisyphus = "\u03C3\u03AF\u03C3\u03C5\u03C6\u03BF\u03C2@example.test"; // ends in a final sigma

    // The salt shown for `login`; the exchange is then cancelled ("*", a failed login).
    private static async Task<string> SaltAsync(RawLineClient client, string login)
    {
        var serverFirst = await client.CommandAsync("AUTH SCRAM-SHA-256 " + new ScramClient(login, "x").First);
        Assert.StartsWith("+ ", serverFirst);
        Assert.Equal("-ERR Authentication cancelled", await client.CommandAsync("*"));
        return Convert.ToBase64String(ScramClient.ParseServerFirst(serverFirst[2..]).Salt);
    }

    [Fact]
    public async Task Two_spellings_of_a_login_show_the_same_salts_whether_or_not_the_user_exists()
    {
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = 0, ImapPort = null, ImapsPort = null, ServerName = "pop.example.test",
        };
        options.Domains.Add("example.test");
        options.Users.Add((Alice, "alice"));
        options.Users.Add((Sisyphus, "rock"));
        options.Pop3.FailedAuthDelay = TimeSpan.Zero;
        await using var host = new MailHost(options);
        await host.StartAsync();
        await using var client = await RawLineClient.ConnectAsync(host.EndPoints["pop3s"]);
        await client.StartTlsAsync(host.Certificate);
        Assert.StartsWith("+OK ", await client.ReadLineAsync());

        // Letter case names the same login: one salt, for the real user and for the unknown one alike.
        Assert.Equal(await SaltAsync(client, Alice), await SaltAsync(client, "ALICE@example.test"));
        Assert.Equal(await SaltAsync(client, "nobody@example.test"), await SaltAsync(client, "NOBODY@example.test"));
        // A final sigma and a medial one are two logins (lower case keeps them apart; upper case makes both a capital
        // sigma): the real user's salt is not shown for the other spelling, so an unknown login's must not be either.
        Assert.NotEqual(await SaltAsync(client, Sisyphus), await SaltAsync(client, Sisyphus.Replace('\u03C2', '\u03C3')));
        const string Unknown = "\u03C3\u03C0\u03CD\u03C1\u03BF\u03C2@example.test";
        Assert.NotEqual(await SaltAsync(client, Unknown), await SaltAsync(client, Unknown.Replace('\u03C2', '\u03C3')));
    }
}
