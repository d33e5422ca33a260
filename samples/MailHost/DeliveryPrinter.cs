using Mail.Protocols.Storage;

namespace MailHostSample;

/// <summary>Prints one line for every message that lands in a mailbox.</summary>
internal sealed class DeliveryPrinter(bool quiet) : IMailboxObserver
{
    public void OnChange(MailboxChange change)
    {
        if (!quiet && change.Kind == MailboxChangeKind.MessageAdded && change.Message is { } message)
        {
            Console.WriteLine($"delivered: {change.User} {change.Folder} uid {message.Uid} ({message.Size} octets)");
        }
    }
}
