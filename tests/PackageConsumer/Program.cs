// Built only from the packages in tests/LocalFeed: embeds the host, sends one message over a socket,
// and reads it back from the store, as a user's first program would, with mailboxes in a Maildir.
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Hosting;
using Mail.Protocols.Hosting;
using Mail.Protocols.Maildir;

var root = Path.Combine(Path.GetTempPath(), "package-consumer-" + Guid.NewGuid().ToString("N"));
using var store = new MaildirMailboxStore(root);
var options = new MailHostOptions { Store = store, SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
options.Domains.Add("example.test");
options.Users.Add(("alice@example.test", "alice"));
await using var host = new MailHost(options);
await host.StartAsync();

using var client = new TcpClient();
await client.ConnectAsync(host.EndPoints["smtp"]);
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
var accepted = await Say("Subject: from the package consumer\r\n\r\nhello\r\n.");
await Say("QUIT");

var inbox = await host.Store.ListMessagesAsync("alice@example.test", "INBOX");
var files = Directory.GetFiles(Path.Combine(store.GetUserDirectory("alice@example.test"), "new")).Length;
Console.WriteLine($"package consumer: {accepted}; alice has {inbox.Count} message(s), {files} file(s) in her Maildir's new/");
Directory.Delete(root, recursive: true);
return accepted.StartsWith("250 ", StringComparison.Ordinal) && inbox.Count == 1 && files == 1 ? 0 : 1;
