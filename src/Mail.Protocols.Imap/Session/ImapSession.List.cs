using System.Buffers;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Session;

// LIST (RFC 9051 §6.3.9 with LIST-EXTENDED, RFC 5258; CHILDREN, RFC 3348; SPECIAL-USE, RFC 6154; LIST-STATUS,
// RFC 5819) and LSUB (RFC 3501 §6.3.9).
internal sealed partial class ImapSession
{
    private async ValueTask<bool> ListAsync(ListArguments arguments)
    {
        // RFC 9051 §6.3.9: an empty pattern asks only for the delimiter and the root.
        if (arguments.Patterns is [""] && arguments.Select == ListSelectOptions.None)
        {
            IO.Write("* LIST (\\Noselect) \""u8);
            WriteDelimiter();
            IO.Write("\" \"\"\r\n"u8);
            Ok("LIST completed\r\n"u8);
            return true;
        }
        var separator = Store.HierarchySeparator;
        var folders = await Store.ListFoldersAsync(Login, Connection.Aborted).ConfigureAwait(false);
        var subscribed = (arguments.Select & ListSelectOptions.Subscribed) != 0 || (arguments.Return & ListReturnOptions.Subscribed) != 0
            ? new HashSet<string>(await Store.ListSubscriptionsAsync(Login, Connection.Aborted).ConfigureAwait(false), StringComparer.Ordinal)
            : null;
        var patterns = arguments.Patterns.Select(p => new ListPattern(arguments.Reference, p, separator)).ToArray();

        var listed = new List<(string Name, FolderInfo? Folder, bool ChildSubscribed)>();
        if ((arguments.Select & ListSelectOptions.Subscribed) != 0)
        {
            // RFC 5258 §3.1: subscribed names, existing or not; with RECURSIVEMATCH, also the parents of matching
            // subscribed names, with CHILDINFO.
            var byName = folders.ToDictionary(f => f.Name, StringComparer.Ordinal);
            foreach (var name in subscribed!.Order(StringComparer.Ordinal))
            {
                if (Matches(patterns, name))
                {
                    listed.Add((name, byName.GetValueOrDefault(name), false));
                }
            }
            if ((arguments.Select & ListSelectOptions.RecursiveMatch) != 0)
            {
                foreach (var folder in folders)
                {
                    if (!subscribed!.Contains(folder.Name) && Matches(patterns, folder.Name)
                        && subscribed.Any(s => s.StartsWith(folder.Name + separator, StringComparison.Ordinal)))
                    {
                        listed.Add((folder.Name, folder, true));
                    }
                }
            }
        }
        else
        {
            foreach (var folder in folders)
            {
                if (Matches(patterns, folder.Name) && ((arguments.Select & ListSelectOptions.SpecialUse) == 0 || folder.SpecialUse != SpecialUse.None))
                {
                    listed.Add((folder.Name, folder, false));
                }
            }
        }

        foreach (var (name, folder, childSubscribed) in listed)
        {
            IO.Write("* LIST ("u8);
            var attributes = new AttributeWriter(this);
            if (folder is null)
            {
                attributes.Write("\\NonExistent"u8);
            }
            else
            {
                if (!folder.IsSelectable)
                {
                    attributes.Write("\\Noselect"u8);
                }
                if ((folder.Attributes & FolderAttributes.NoInferiors) != 0)
                {
                    attributes.Write("\\NoInferiors"u8);
                }
                else
                {
                    attributes.Write(folder.HasChildren ? "\\HasChildren"u8 : "\\HasNoChildren"u8);
                }
                if (SpecialUseAttribute(folder.SpecialUse) is { Length: > 0 } use)
                {
                    attributes.Write(use);
                }
            }
            if (subscribed is not null && subscribed.Contains(name))
            {
                attributes.Write("\\Subscribed"u8);
            }
            IO.Write(") \""u8);
            WriteDelimiter();
            IO.Write("\" "u8);
            WriteMailboxName(name);
            if (childSubscribed)
            {
                IO.Write(" (\"CHILDINFO\" (\"SUBSCRIBED\"))"u8);
            }
            IO.Write("\r\n"u8);
            // RFC 5819: the STATUS of each selectable name listed follows its LIST line.
            if ((arguments.Return & ListReturnOptions.Status) != 0 && folder is { IsSelectable: true })
            {
                var status = await Store.GetStatusAsync(Login, name, Connection.Aborted).ConfigureAwait(false);
                WriteStatus(status, arguments.StatusItems);
            }
        }
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("LIST completed\r\n"u8);
        return true;
    }

    private async ValueTask<bool> LsubAsync(LsubArguments arguments)
    {
        var separator = Store.HierarchySeparator;
        var subscribed = await Store.ListSubscriptionsAsync(Login, Connection.Aborted).ConfigureAwait(false);
        var folders = (await Store.ListFoldersAsync(Login, Connection.Aborted).ConfigureAwait(false)).ToDictionary(f => f.Name, StringComparer.Ordinal);
        ListPattern[] patterns = [new ListPattern(arguments.Reference, arguments.Pattern, separator)];
        foreach (var name in subscribed.Order(StringComparer.Ordinal))
        {
            if (!Matches(patterns, name))
            {
                continue;
            }
            // RFC 3501 §6.3.9: a subscribed name that is not a selectable folder is listed \Noselect.
            IO.Write(folders.TryGetValue(name, out var folder) && folder.IsSelectable ? "* LSUB () \""u8 : "* LSUB (\\Noselect) \""u8);
            WriteDelimiter();
            IO.Write("\" "u8);
            WriteMailboxName(name);
            IO.Write("\r\n"u8);
        }
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("LSUB completed\r\n"u8);
        return true;
    }

    private static bool Matches(ListPattern[] patterns, string name)
    {
        foreach (var pattern in patterns)
        {
            if (pattern.Matches(name))
            {
                return true;
            }
        }
        return false;
    }

    private static ReadOnlySpan<byte> SpecialUseAttribute(SpecialUse use) => use switch
    {
        SpecialUse.All => "\\All"u8,
        SpecialUse.Archive => "\\Archive"u8,
        SpecialUse.Drafts => "\\Drafts"u8,
        SpecialUse.Flagged => "\\Flagged"u8,
        SpecialUse.Junk => "\\Junk"u8,
        SpecialUse.Sent => "\\Sent"u8,
        SpecialUse.Trash => "\\Trash"u8,
        _ => default,
    };

    // Separates the attributes of a LIST line by single spaces.
    private ref struct AttributeWriter(ImapSession session)
    {
        private bool _any;

        public void Write(ReadOnlySpan<byte> attribute)
        {
            if (_any)
            {
                session.IO.Write(" "u8);
            }
            session.IO.Write(attribute);
            _any = true;
        }
    }
}
