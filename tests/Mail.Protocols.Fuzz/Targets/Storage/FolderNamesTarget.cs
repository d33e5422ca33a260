using System.Text;
using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// Folder names and their Maildir++ directories (<see cref="FolderNames"/>), the input taken as a folder name and as a directory
/// name. Properties: <see cref="FolderNames.ToDirectoryName"/> throws only <see cref="MailboxStoreException"/> (InvalidName);
/// a directory it gives is INBOX's "" or a "." name of printable ASCII (modified UTF-7, space included) that fits a file name (255 octets)
/// and decodes back to the folder; <see cref="FolderNames.FromDirectoryName"/> never throws, and a folder it finds is no
/// INBOX (INBOX is the Maildir itself) and maps back to the very directory it was read from (another spelling would be a folder
/// the store lists but cannot open).
/// </summary>
internal sealed class FolderNamesTarget : IFuzzTarget
{
    private const int MaxFileName = 255;

    public string Name => "FolderNames";

    public void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        if (ToDirectory(text) is { } directory)
        {
            if (FolderNames.IsInbox(text))
            {
                Fuzz.Equal("", directory, "INBOX's directory");
            }
            else
            {
                CheckDirectory(directory);
                Fuzz.Equal(text, FolderNames.FromDirectoryName(directory), $"the folder of \"{directory}\"");
            }
        }

        if (FolderNames.FromDirectoryName(text) is { } folder)
        {
            Fuzz.Check(!FolderNames.IsInbox(folder), $"the directory \"{text}\" is a second INBOX");
            var back = ToDirectory(folder) ?? throw new FuzzPropertyException($"the folder \"{folder}\" of \"{text}\" has no directory");
            Fuzz.Equal(text, back, $"the directory of the folder \"{folder}\"");
        }
    }

    private static string? ToDirectory(string folder)
    {
        try
        {
            return FolderNames.ToDirectoryName(folder);
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.InvalidName)
        {
            return null;
        }
    }

    private static void CheckDirectory(string directory)
    {
        Fuzz.Check(directory.Length >= 2 && directory[0] == '.', $"\"{directory}\" is not a Maildir++ folder directory");
        Fuzz.Check(directory.All(c => c is >= ' ' and < '\u007f' and not '/'), $"\"{directory}\" is not printable ASCII without '/'");
        Fuzz.Check(Encoding.UTF8.GetByteCount(directory) <= MaxFileName, $"the directory name is {directory.Length} octets, more than a file name can have");
    }
}
