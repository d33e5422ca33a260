using Mail.Protocols.Testing;

namespace WelcomeMailer.Tests;

/// <summary>One test mail server shared by every test of the "mail" collection; each test purges it first.</summary>
public sealed class MailServerFixture : IAsyncLifetime
{
    public MailTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new MailTestServerOptions();
        options.Users.Add(("shop@shop.example", "shop-password"));
        Server = await MailTestServer.StartAsync(options);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The tests that share <see cref="MailServerFixture"/> (and so run one after another).</summary>
[CollectionDefinition("mail")]
public sealed class MailCollection : ICollectionFixture<MailServerFixture>;
