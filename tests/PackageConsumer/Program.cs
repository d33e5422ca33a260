// Built only from the packages in tests/LocalFeed, as a user's first programs would be: (1) MailHost embedded with
// mailboxes in a Maildir, (2) the servers registered on a .NET Generic Host from configuration, (3) MailTestServer as an
// application's test would use it, (4) a Generic Host with its mailboxes and queue in PostgreSQL (the database run.sh
// starts). Each receives one message over a socket, read back from the store or the record.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Hosting;
using Mail.Protocols.Hosting.HostedServices;
using Mail.Protocols.InMemory;
using Mail.Protocols.Maildir;
using Mail.Protocols.PostgreSql.Hosting;
using Mail.Protocols.PostgreSql.Mailboxes;
using Mail.Protocols.Storage;
using Mail.Protocols.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var root = Path.Combine(Path.GetTempPath(), "package-consumer-" + Guid.NewGuid().ToString("N"));
using var store = new MaildirMailboxStore(root);
var options = new MailHostOptions { Store = store, SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
options.Domains.Add("example.test");
options.Users.Add(("alice@example.test", "alice"));
await using var host = new MailHost(options);
await host.StartAsync();
var accepted = await SendOneAsync(host.EndPoints["smtp"], "from the package consumer");
var inbox = await host.Store.ListMessagesAsync("alice@example.test", "INBOX");
var files = Directory.GetFiles(Path.Combine(store.GetUserDirectory("alice@example.test"), "new")).Length;
Console.WriteLine($"package consumer, MailHost: {accepted}; alice has {inbox.Count} message(s), {files} file(s) in her Maildir's new/");
await host.StopAsync();
Directory.Delete(root, recursive: true);
var hostWorked = accepted.StartsWith("250 ", StringComparison.Ordinal) && inbox.Count == 1 && files == 1;

// The same through the Generic Host: settings from configuration, backends from the container.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Mail:Policy:LocalDomains:0"] = "example.test",
    ["Mail:Smtp:ServerName"] = "mx.example.test",
    ["Mail:Smtp:Listeners:0:Port"] = "0",
});
builder.Services.AddInMemoryMailBackends()
    .AddRecipientPolicy(builder.Configuration.GetSection("Mail:Policy"))
    .AddSmtpServer(builder.Configuration.GetSection("Mail:Smtp"));
using var app = builder.Build();
app.Services.GetRequiredService<InMemoryUserDirectory>().AddUser("alice@example.test", "alice");
await app.StartAsync();
var smtp = app.Services.GetRequiredService<SmtpServerService>();
var acceptedByApp = await SendOneAsync(smtp.EndPoints["smtp"], "from the Generic Host consumer");
var appInbox = await app.Services.GetRequiredService<IMailboxStore>().ListMessagesAsync("alice@example.test", "INBOX");
Console.WriteLine($"package consumer, Generic Host: {acceptedByApp}; alice has {appInbox.Count} message(s)");
await app.StopAsync();
var appWorked = acceptedByApp.StartsWith("250 ", StringComparison.Ordinal) && appInbox.Count == 1;

// The test server: the message is recorded with its envelope before the 250.
await using var testServer = await MailTestServer.StartAsync();
var acceptedByTestServer = await SendOneAsync(new IPEndPoint(IPAddress.Loopback, testServer.SmtpPort), "from the test server consumer");
var recorded = await testServer.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30));
Console.WriteLine($"package consumer, MailTestServer: {acceptedByTestServer}; recorded \"{recorded[0].Message.Subject}\" for {string.Join(", ", recorded[0].Recipients)}");
var testServerWorked = recorded.Count == 1 && recorded[0].Recipients.SequenceEqual(["alice@example.test"]);
// The mailboxes and the queue in PostgreSQL: the schema applied at start, the message in the database.
var connectionString = Environment.GetEnvironmentVariable("MAIL_PROTOCOLS_CONSUMER_POSTGRES")
    ?? throw new InvalidOperationException("MAIL_PROTOCOLS_CONSUMER_POSTGRES names no database: run tests/PackageConsumer/run.sh.");
var onDatabase = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
onDatabase.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Mail:Policy:LocalDomains:0"] = "example.test",
    ["Mail:Smtp:ServerName"] = "mx.example.test",
    ["Mail:Smtp:Listeners:0:Port"] = "0",
});
onDatabase.Services.AddPostgreSqlMailBackends(connectionString)
    .AddInMemoryMailBackends()
    .AddRecipientPolicy(onDatabase.Configuration.GetSection("Mail:Policy"))
    .AddSmtpServer(onDatabase.Configuration.GetSection("Mail:Smtp"));
using var databaseApp = onDatabase.Build();
databaseApp.Services.GetRequiredService<InMemoryUserDirectory>().AddUser("alice@example.test", "alice");
await databaseApp.StartAsync();
var acceptedOnDatabase = await SendOneAsync(databaseApp.Services.GetRequiredService<SmtpServerService>().EndPoints["smtp"], "from the PostgreSQL consumer");
var databaseStore = databaseApp.Services.GetRequiredService<IMailboxStore>();
var databaseInbox = await databaseStore.ListMessagesAsync("alice@example.test", "INBOX");
Console.WriteLine($"package consumer, PostgreSQL: {acceptedOnDatabase}; alice has {databaseInbox.Count} message(s) in a {databaseStore.GetType().Name}");
await databaseApp.StopAsync();
var databaseWorked = acceptedOnDatabase.StartsWith("250 ", StringComparison.Ordinal) && databaseInbox.Count == 1 && databaseStore is PostgreSqlMailboxStore;

return hostWorked && appWorked && testServerWorked && databaseWorked ? 0 : 1;

static async Task<string> SendOneAsync(IPEndPoint endPoint, string subject)
{
    using var client = new TcpClient();
    await client.ConnectAsync(endPoint);
    var stream = client.GetStream();
    var reader = new StreamReader(stream, Encoding.ASCII);
    async Task<string> Say(string line)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
        string reply;
        do
        {
            reply = await reader.ReadLineAsync() ?? throw new IOException("closed");
        }
        while (reply[3] == '-');
        return reply;
    }
    await reader.ReadLineAsync();
    await Say("EHLO consumer");
    await Say("MAIL FROM:<consumer@example.org>");
    await Say("RCPT TO:<alice@example.test>");
    await Say("DATA");
    var accepted = await Say($"Subject: {subject}\r\n\r\nhello\r\n.");
    await Say("QUIT");
    return accepted;
}
