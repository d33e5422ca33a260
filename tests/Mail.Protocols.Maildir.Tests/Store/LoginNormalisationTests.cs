using System.Text;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// Logins are one user exactly when their normal forms (<see cref="UserName.Normalize"/>) are equal: a look-alike
/// spelling of kate's login (the Kelvin sign, U+212A) is kate's account or nobody's, never a second account on
/// kate's Maildir; distinct logins never share one.
/// </summary>
public sealed class LoginNormalisationTests : IDisposable
{
    private const string Kate = "kate@example.test";
    private const string KatePassword = "kate-secret";
    private const string KelvinKate = "\u212Aate@example.test";
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    // Pairs that look alike or fold alike under one rule or another; each login gets its own message.
    private static readonly string[] s_logins =
    [
        Kate, "Kate@Example.Test", KelvinKate, "\uFF4B\uFF41\uFF54\uFF45@example.test" /* full-width */,
        "ivan@example.test", "\u0131van@example.test" /* dotless i */, "IVAN@example.test",
        "strasse@example.test", "stra\u00DFe@example.test", "cafe\u0301@example.test", "caf\u00E9@example.test",
    ];

    [Fact]
    public async Task The_kelvin_sign_login_cannot_be_a_second_account_and_over_pop3_is_kates_account_only_with_kates_password()
    {
        using var store = new MaildirMailboxStore(new MaildirStoreOptions { RootPath = _root.Path, Fsync = false });
        var options = new MailHostOptions { Store = store, SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null, AllowPlaintextAuth = true };
        options.Users.Add((Kate, KatePassword));
        options.Pop3.FailedAuthDelay = TimeSpan.FromMilliseconds(10);
        await using var host = new MailHost(options);
        await host.StartAsync();
        await store.AppendAsync(Kate, "INBOX", new MemoryStream("Subject: for kate only\r\n\r\nsecret\r\n"u8.ToArray()));

        // The directory knows the look-alike as kate: it cannot be registered as somebody else.
        Assert.Same(await host.Users.FindByLoginAsync(Kate), await host.Users.FindByLoginAsync(KelvinKate));
        var twin = Assert.Throws<ArgumentException>(() => host.Users.AddUser(KelvinKate, "mallory"));
        Assert.Contains(Kate, twin.Message, StringComparison.Ordinal);

        await using var pop = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        Assert.StartsWith("+OK", await pop.ReadLineAsync(), StringComparison.Ordinal);
        Assert.Equal("-ERR [AUTH] Authentication failed", await pop.CommandAsync("AUTH PLAIN " + Plain(KelvinKate, "mallory")));
        Assert.StartsWith("+OK ", await pop.CommandAsync("AUTH PLAIN " + Plain(KelvinKate, KatePassword)), StringComparison.Ordinal);
        Assert.Equal("+OK 1 " + (await store.GetStatusAsync(Kate, "INBOX")).Size, await pop.CommandAsync("STAT"));
        Assert.Single(Directory.GetDirectories(_root.Path));
    }

    [Fact]
    public async Task Distinct_logins_never_share_a_maildir_and_equal_normal_forms_are_one_user()
    {
        using var store = new MaildirMailboxStore(new MaildirStoreOptions { RootPath = _root.Path, Fsync = false });
        foreach (var login in s_logins)
        {
            await store.AppendAsync(login, "INBOX", new MemoryStream(Encoding.UTF8.GetBytes($"Subject: {login}\r\n\r\nx\r\n")));
        }
        var users = s_logins.GroupBy(UserName.Normalize, StringComparer.Ordinal).ToList();
        // The forms the docs promise: Kelvin sign and full width fold to ASCII; dotless i, sharp s and a combining accent do not.
        Assert.Equal(["kate@example.test", "ivan@example.test", "\u0131van@example.test", "strasse@example.test", "stra\u00DFe@example.test", "caf\u00E9@example.test"],
            users.Select(g => g.Key));
        Assert.Equal(users.Count, Directory.GetDirectories(_root.Path).Length);
        Assert.Equal(users.Count, s_logins.Select(store.GetUserDirectory).Distinct(StringComparer.Ordinal).Count());
        foreach (var user in users)
        {
            foreach (var login in user)
            {
                Assert.Equal(user.Count(), (await store.ListMessagesAsync(login, "INBOX")).Count);
                Assert.Equal(Path.Combine(_root.Path, user.Key), store.GetUserDirectory(login));
            }
        }

        // The in-memory store keys users the same way.
        var memory = new InMemoryMailboxStore();
        foreach (var login in s_logins)
        {
            await memory.AppendAsync(login, "INBOX", new MemoryStream("Subject: x\r\n\r\nx\r\n"u8.ToArray()));
        }
        foreach (var user in users)
        {
            foreach (var login in user)
            {
                Assert.Equal(user.Count(), (await memory.ListMessagesAsync(login, "INBOX")).Count);
            }
        }
    }

    [Fact]
    public async Task A_login_that_is_not_valid_unicode_has_no_normal_form_and_no_account()
    {
        Assert.False(UserName.TryNormalize("kate\uD800@example.test", out _));
        using var store = new MaildirMailboxStore(new MaildirStoreOptions { RootPath = _root.Path, Fsync = false });
        var error = Assert.Throws<MailboxStoreException>(() => store.GetUserDirectory("kate\uD800@example.test"));
        Assert.Equal(MailboxStoreError.InvalidName, error.Error);
        var users = new InMemoryUserDirectory();
        users.AddUser(Kate, KatePassword);
        Assert.Null(await users.FindByLoginAsync("kate\uD800@example.test"));
    }

    private static string Plain(string login, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + login + "\0" + password));
}
