"""Write skprepal/datasets/data/support_tickets_long_tail.csv: 1,740 support tickets, 12 classes.

The tickets are composed, deterministically, from hand-written parts: for every class 7 to 38
ways of stating the problem (with slots for products, devices, amounts, names, dates... and
inline choices of wording) and a few terse ones, class-specific follow-up sentences, and class-free openers, context and sign-offs.
A ticket is one statement, sometimes a follow-up or two and some context, in one of four
registers (terse, plain, chatty, formal), with the noise of real queues: typos, lower case, a
missing full stop, the odd all-caps shout. A few statements touch a second topic on purpose (a
double charge after a crash is billing) and are labelled by their main ask. Everything
is fictional: the company, its customers and every name; e-mail domains are reserved example
domains; real third-party products appear only as tools customers connect.

The class sizes make a long tail, as in real support queues: the largest class holds 290 tickets
(16.7%), the three smallest 50, 40 and 30 (2.9%, 2.3%, 1.7%).

Run from the repository root (standard library only; the same file every time)::

    python tools/generate_support_tickets.py
"""

# The statements are data: one line each reads and diffs best, whatever its length.
# ruff: noqa: E501

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

SEED = 18
OUT = Path(__file__).resolve().parents[1] / "skprepal/datasets/data/support_tickets_long_tail.csv"

COUNTS = {
    "account_access": 290,
    "bug_report": 270,
    "billing": 250,
    "how_to": 210,
    "feature_request": 190,
    "integrations": 150,
    "performance": 110,
    "data_privacy": 80,
    "cancellation": 70,
    "notifications": 50,
    "security_report": 40,
    "accessibility": 30,
}

# -- slot fillers ------------------------------------------------------------------------------

FIRST = ("Dana Mark Priya Tomasz Aiko Luis Fatima Ben Chloe Olu Sven Mei Rafael Ines Jonah "
         "Leila Marta Kofi Hana Pieter Grace Yusuf Elena Sam Noor Diego Ruth Arjun Zoe Ivan "
         "Amara Felix Rosa Kenji Lea Omar Tessa Hugo Nadia Emeka").split()
LAST = ("Okafor Lindqvist Patel Nowak Tanaka Herrera Haddad Carter Dubois Adeyemi Berg Chen "
        "Souza Moreau Walsh Rahimi Kowalski Mensah Sato Visser Kim Demir Popescu Reyes").split()
SLOTS: dict[str, list[str]] = {
    "browser": ["Chrome", "Firefox", "Safari", "Edge", "Brave", "Opera"],
    "os": ["Windows 11", "Windows 10", "macOS Sonoma", "macOS Ventura", "Ubuntu 22.04",
           "a Windows work laptop", "an M1 MacBook", "ChromeOS"],
    "device": ["iPhone 13", "iPhone 15", "Pixel 7", "Galaxy S22", "iPad Air", "old iPhone SE",
               "Samsung tablet", "OnePlus phone"],
    "plan": ["Free", "Starter", "Team", "Business", "Enterprise"],
    "paid_plan": ["Starter", "Team", "Business", "Enterprise"],
    "amount": ["$12", "$15.00", "$96", "$240", "$1,188", "€45", "£30", "$8", "$360", "€129",
               "$59.40", "$4,500"],
    "seats": ["3", "5", "8", "12", "25", "40", "60", "150"],
    "seats2": ["2", "4", "7", "9", "20"],
    "minor": ["0", "1", "3", "7"],
    "feature": ["boards", "the calendar view", "docs", "task lists", "the timeline",
                "file previews", "comments", "search", "the inbox", "dashboards", "templates",
                "recurring tasks", "guest access", "the whiteboard", "forms", "time tracking"],
    "thing": ["task", "doc", "board", "project", "folder", "comment", "file", "form",
              "checklist", "page"],
    "integration": ["Slack", "Google Drive", "Microsoft Teams", "Zapier", "Jira", "GitHub",
                    "Outlook", "Google Calendar", "Dropbox", "Salesforce", "HubSpot", "Zoom",
                    "OneDrive", "Trello import", "Figma"],
    "error": ['"Something went wrong"', "error 500", '"Session expired"', "ERR_CONNECTION_RESET",
              '"403 Forbidden"', '"Unexpected error, try again later"', "error code 0x80070005",
              '"Request failed with status 422"', "\"Oops! We couldn't load this page\"",
              '"Error 502 Bad Gateway"'],
    "since": ["since this morning", "since yesterday", "for two days now", "since the last update",
              "since Monday", "all week", "since about 3pm", "on and off for a week",
              "since we moved offices"],
    "when": ["this morning", "yesterday", "after the last update", "on Monday", "two days ago",
             "last week", "right after we moved offices", "around lunchtime"],
    "file_type": ["PDF", "CSV export", "PNG", "Excel file", "zip archive", "Word doc", "video"],
    "size": ["200 MB", "2 GB", "45 MB", "900 MB", "12 MB"],
    "city": ["Lisbon", "Toronto", "Nairobi", "Osaka", "Manchester", "Austin", "Kraków",
             "Melbourne", "São Paulo", "Rotterdam"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    "days": ["3", "5", "10", "14", "20", "30"],
    "month": ["January", "March", "April", "June", "August", "October", "November"],
    "country": ["Germany", "France", "the Netherlands", "Brazil", "Canada", "India", "Japan",
                "the UK", "Australia"],
    "company": ["Brightwell Dental", "Kestrel Logistics", "Northfield Council", "Pine & Ash",
                "Luma Studio", "Harbor Credit Union", "Tidewater Tours", "Greybeard Games",
                "Okapi Labs", "Saltmarsh Bakery", "Meridian Law", "Fennel Health"],
    "role": ["the IT admin", "the office manager", "a project lead", "the workspace owner",
             "a contractor", "the finance person", "a teacher", "a volunteer coordinator"],
    "screen_reader": ["NVDA", "JAWS", "VoiceOver", "TalkBack", "Narrator"],
    "lang": ["German", "Spanish", "Japanese", "Portuguese", "Polish", "Arabic", "French"],
}


def _invoice(rng: random.Random) -> str:
    return f"INV-{rng.randint(20000, 99999)}"


def _ref(rng: random.Random) -> str:
    return f"#{rng.randint(10000, 99999)}"


def _date(rng: random.Random) -> str:
    return rng.choice([f"{rng.randint(1, 28)} {rng.choice(SLOTS['month'])}",
                       f"{rng.choice(SLOTS['month'])} {rng.randint(1, 28)}",
                       f"{rng.randint(1, 28)}/{rng.randint(1, 12)}"])


def _email(first: str, last: str, rng: random.Random) -> str:
    domain = rng.choice(["example.com", "example.org", "example.net"])
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", first, f"{first}{rng.randint(1, 99)}"])
    return f"{local.lower()}@{domain}"


# -- what tickets say, per class -----------------------------------------------------------------
# Each class: "core" (full statements), "terse" (a few words), "more" (follow-ups). A few core
# statements touch another topic on purpose; the label is the main ask. "[a|b]" is a choice of
# wording, "{slot}" a filler from SLOTS.

CLASSES: dict[str, dict[str, list[str]]] = {
    "account_access": {
        "core": [
            "I [can't|cannot|am unable to] log in. It says my password is wrong but I just reset it.",
            "The password reset email never [arrives|comes through|shows up]. I've checked spam and tried three times.",
            "My account got locked after too many [attempts|wrong passwords]. How long until I can try again?",
            "I [changed|replaced|upgraded] my phone and now I can't get the two-factor codes anymore.",
            "The 2FA code from my authenticator app is [always|keeps getting] rejected, even right after it refreshes.",
            "We use Okta for SSO and {since} it has been looping back to the login page.",
            "Single sign-on fails with {error} for [everyone|all users] in our workspace.",
            "How do I change the email address I log in with? I'm moving from {email} to a new one.",
            "I was removed from the workspace by mistake, can you add me back? [My admin is on leave.|Our admin is away until next week.]",
            "The magic link in the login email says it has expired even when I click it [right away|within seconds].",
            "I forgot which email I signed up with. Can you look it up by my name, {fullname}?",
            "Our workspace owner left the company and nobody else is an admin. How do we get control back?",
            "I get logged out every few minutes on {browser}, and have to sign in again [all the time|constantly].",
            "Login with Google just says {error}. Email and password login is not an option for us.",
            "My account shows as deactivated but I never deactivated it.",
            "I lost my backup codes and my phone. Is there any way to [recover|get back into] my account?",
            "I accepted an invite from {company} but it created a second account instead of joining theirs.",
            "I can log in on the web but the desktop app keeps saying my credentials are invalid.",
            "Can't sign in from {country}, it worked fine at home. I'm travelling for work.",
            "The verification code [SMS|text message] never comes. My number is correct in my profile.",
            "My username was changed and I can't log in with either the old or the new one.",
            "The invite link says it's invalid. A colleague sent it {when}.",
            "How do I reset the password for someone in my team? They can't get the reset email.",
            "After the SSO migration half our users can't log in and the other half can.",
            "It keeps asking me to verify my email but the verification email never [shows up|arrives].",
            "I set up 2FA on an old phone that is now broken. [Please help, I need access for a deadline.|What are my options?]",
            "When I log in I land on a workspace I don't recognise, not mine.",
            "My account [seems to have been|was somehow] merged with my colleague's, I see her projects and not mine.",
            "I typed my password wrong a few times and now the login button is greyed out.",
            "The app says \"account not found\" for {email}, but I've used it for two years.",
            "I haven't been able to log in since you changed the login page, and my old bookmark gives {error}.",
            "I double-paid the invoice and now I'm locked out of the account. Please unlock it first, the refund can wait.",
            "Our contractor's guest access expired and he can't log in to finish the project.",
            "The password reset link opens but then says \"token invalid\" after I type a new password.",
            "[Is there a way to|Can I] log in without the authenticator app? I'm abroad without my work phone.",
            "Everyone from our domain gets \"your organisation requires SSO\" but SSO isn't set up yet.",
            "I'm stuck on the \"check your inbox\" screen, the code email never [lands|comes].",
            "The sign-in page rejects my password [because|saying] it contains a special character, but it was accepted when I created it.",
        ],
        "terse": [
            "cant log in", "locked out of my account", "password reset not working",
            "2FA code not accepted", "login loop", "Can't sign in.", "account locked??",
            "lost access to my 2fa", "reset email never came", "SSO broken",
            "help, can't get into my account", "login page keeps refreshing",
            "Can't log in on desktop app", "forgot password, no email",
        ],
        "more": [
            "I've cleared cookies and tried incognito.",
            "I tried from two different browsers, same thing.",
            "My email is {email}.",
            "I really need to get in today, all my notes are in there.",
            "Our IdP is Azure AD, if that helps.",
            "I can send a photo ID if you need to verify me.",
            "The reset link takes me to a page that just says {error}.",
            "It was working fine last week.",
            "My colleagues can log in normally.",
            "I'm on {browser} on {os}.",
            "I've been locked out {since}.",
        ],
    },
    "bug_report": {
        "core": [
            "When I drag a {thing} to another column it jumps back to where it was.",
            "The desktop app shows {error} when I open any {thing}.",
            "Comments I post [disappear|vanish] after I refresh the page.",
            "Uploading a {file_type} fails at 99% every time. Smaller files [work|are fine].",
            "The due date picker sets the day before the one I click.",
            "{feature_cap} [is completely broken|doesn't work at all] on {browser}: nothing loads, just {error}.",
            "Search [returns|shows] results from projects I was removed from. Clicking them gives {error}.",
            "The exported {file_type} has every accented character garbled (é shows as Ã©).",
            "Checklist items reorder themselves randomly when I tick one off.",
            "Since the last update the desktop app on {os} crashes on launch.",
            "Typing in {lang} in the editor duplicates characters when I confirm a word.",
            "Undo removes the whole paragraph instead of my last word.",
            "The \"mark all as read\" button does nothing.",
            "Recurring tasks have been created twice every week {since}.",
            "I can't paste images into docs anymore, it pastes the file name as text.",
            "Sorting by priority puts Low above High.",
            "The timeline view shows tasks in the wrong month after I change my time zone.",
            "Files attached to a {thing} [show as|download as] 0 bytes.",
            "When I rename a {thing} the old name comes back after a few seconds.",
            "Tables in docs lose their column widths every time someone else edits them.",
            "The app on my {device} crashes when I open a {thing} with attachments.",
            "Dark mode makes the text in code blocks black on black.",
            "Moving a {thing} to another project deletes its comments.",
            "The keyboard shortcut to create a {thing} stopped working on {os}.",
            "The print preview of a board is cut off on the right side.",
            "Mentions don't autocomplete names with accents (e.g. José).",
            "The calendar shows all-day events across two days.",
            "Bulk editing 30 {thing}s only changes the first 10.",
            "The app crashed during checkout and I may have been charged, but mostly the crash needs fixing: it happens every time I open settings.",
            "Every time I open the app it forgets my filter settings.",
            "Duplicating a template copies the assignees from the original, which we don't want.",
            "Forms submitted from [mobile|a phone] arrive with empty fields.",
            "[Weird bug:|Found a bug:] the task count on the sidebar says 12 but the list has 9.",
            "Images in comments show as broken icons for everyone except the person who posted them.",
            "If two people edit the same doc, one person's changes get overwritten.",
            "The \"Assign to me\" button assigns the task to the previous person who clicked it.",
        ],
        "terse": [
            "app keeps crashing", "export is broken", "comments vanish", "drag and drop broken",
            "Upload stuck at 99%", "search broken again", "APP CRASHES ON LAUNCH",
            "bug: dates off by one day", "editor eats my text", "broken since update",
        ],
        "more": [
            "Steps: open a {thing}, click edit, save.",
            "Happens on {browser} and in the desktop app.",
            "I attached a screen recording.",
            "Reinstalling didn't help.",
            "The console shows {error}.",
            "My colleague on {os} has the same problem.",
            "It started {when}.",
            "Version 4.12.{minor} of the desktop app.",
            "It's not every time, maybe one in three.",
            "Clearing the cache didn't change anything.",
        ],
    },
    "billing": {
        "core": [
            "I was charged {amount} twice this month. Please refund one of them.",
            "Can you send me the invoice for {date}? I need it for our [accounts|bookkeeping].",
            "We need our VAT number on the invoices. [It's|We're] a company in {country}.",
            "Why did our bill go up to {amount}? We didn't add any users.",
            "How do I change the card we pay with? The old one [expired|was cancelled].",
            "I'm on the Free plan, so why is there a {amount} charge from you on my statement?",
            "Please switch us from monthly to annual billing and apply the annual discount.",
            "We removed {seats} users last week but we're still being billed for them.",
            "The refund you promised on {date} hasn't arrived. Reference {ref}.",
            "Can we pay by bank transfer instead of credit card? Our finance team prefers it.",
            "Our invoice {invoice} lists the wrong company name, it should be {company}.",
            "The payment failed and now the workspace shows a banner saying we'll be downgraded.",
            "We're a non-profit. Do you offer a discount on the {paid_plan} plan?",
            "How much would it cost to go from {seats} to 60 seats on {paid_plan}?",
            "Is the price per user or per workspace? The pricing page isn't clear.",
            "I need a W-9 (or the equivalent) before we can pay your invoice.",
            "I got charged {amount} for the {paid_plan} trial, I thought it was free for {days} days.",
            "Can I get a receipt that shows the tax separately?",
            "Can we split the cost between two credit cards? Two departments share the workspace.",
            "Please downgrade us from {paid_plan} to Starter from next month.",
            "We were charged in dollars but we're in {country}, can we be billed in euros?",
            "Our purchase order number needs to be on every invoice or accounts payable rejects it.",
            "Where can I see how many seats I'm paying for?",
            "My bank flagged your charge of {amount} as suspicious. Is it [legit|from you]?",
            "The app froze while I was upgrading and now I see two charges of {amount}. Please sort out the billing.",
            "I want a refund for the months nobody used it, we only noticed the charges now.",
            "Your price went up and we were told our old rate was locked in. Please honour it.",
            "Why do I get a $0.00 invoice every month?",
            "Can invoices go to accounts@{company_domain} instead of me?",
            "[We were billed|You billed us] for {seats} seats but only {seats2} people use the workspace.",
            "Is there a [cheaper plan|discount] for individuals? {paid_plan} is overkill for just me.",
            "Do you accept PayPal? Our company card has a low limit.",
        ],
        "terse": [
            "double charged", "refund please", "need an invoice", "wrong amount on invoice",
            "why was I charged", "update payment method", "charged after trial??",
            "VAT invoice please", "price question", "billing question",
        ],
        "more": [
            "Invoice number {invoice}.",
            "The charge is dated {date}.",
            "Our finance team needs this by the end of the month.",
            "I've attached a screenshot of my bank statement.",
            "We are on the {paid_plan} plan with {seats} seats.",
            "The card ends in {last4}.",
            "This is the third time I'm asking.",
            "Please reply to {email}, I handle the payments.",
        ],
    },
    "how_to": {
        "core": [
            "How do I move a {thing} from one project to another?",
            "Is there a way to see all the {thing}s assigned to me across projects?",
            "How do I give a client view-only access to one board without showing them the rest?",
            "Where do I change the start day of the week in the calendar?",
            "Can I set a default view for a project so it always opens as a board?",
            "How do I turn a {thing} into a template?",
            "What's the difference between a guest and a member?",
            "How do I restore a {thing} I deleted [yesterday|by accident|last week]?",
            "Can I export {feature} to a {file_type}?",
            "How do I add a custom field to tasks?",
            "Is there a keyboard shortcut for creating a new {thing}?",
            "How do I make a {thing} private so only I can see it?",
            "Where can I find the version history of a doc?",
            "How do I bulk import tasks from a spreadsheet?",
            "Can I assign a task to two people?",
            "How do I archive a project without deleting it?",
            "I'm new here, where do I start with setting up {feature} for a team of {seats}?",
            "How do I change who owns a {thing}?",
            "Can I link two tasks so one can't start before the other is done?",
            "How do I share a doc with someone outside our workspace?",
            "Where is the setting for the default due time?",
            "How can I see what changed in a project while I was on holiday?",
            "Is it possible to embed a board in our intranet page?",
            "How do I add a colleague to a project? [I can't find where.|The menu confuses me.]",
            "How do I stop a recurring task without deleting the past ones?",
            "How do I filter {feature} by label and assignee at the same time?",
            "Where do I set my working hours so people know when I'm available?",
            "Can I duplicate a whole project including its tasks?",
            "[Quick question:|Question:] can I print a board, or only export it?",
            "What does the little clock icon next to some {thing}s mean?",
        ],
        "terse": [
            "how do I add a user", "how to export a board?", "where is the archive",
            "how do i share a doc", "can I undo a delete", "how do templates work",
            "question about custom fields", "how to move tasks between projects",
        ],
        "more": [
            "I looked in the help center but couldn't find it.",
            "I'm {role} so I should have the permissions.",
            "We're setting this up for {company}.",
            "Is that possible on the {plan} plan?",
            "A short video or help article would be enough.",
            "We're still learning the tool.",
            "Sorry if this is obvious.",
        ],
    },
    "feature_request": {
        "core": [
            "It would be great to have a dark mode in the mobile app.",
            "Please add subtasks to subtasks, one level isn't enough for us.",
            "Could you add a way to set WIP limits per column on boards?",
            "Feature request: let us schedule a doc to be published at a set time.",
            "I'd love to be able to colour {thing}s by assignee instead of by label.",
            "Any plans for an offline mode? I work on [trains|planes] a lot.",
            "Please let us add our own logo to public share pages.",
            "Can you add a Gantt chart view? The timeline is close but not quite.",
            "Would be nice if {feature} could show weekends greyed out.",
            "Please add an option to hide completed tasks by default.",
            "We'd pay more for proper time tracking with reports per client.",
            "Idea: swipe right to complete a task on mobile, swipe left to snooze.",
            "Could comments support reactions, like a thumbs up?",
            "Please add a \"remind me later\" option on messages.",
            "We need approvals: a task should only move to Done when a manager approves it.",
            "It would help a lot if search could filter by date range.",
            "Please support Markdown tables in docs.",
            "Could we get a read-only link for a whole project, for our board members?",
            "Allow more than one assignee per task, please.",
            "Suggestion: a focus mode in the editor that hides everything but the text.",
            "Can you make it possible to pin a {thing} to the top of a list?",
            "[Would love|It would be great to get] a weekly summary of what my team finished.",
            "Please add a way to lock a doc so nobody edits it by accident.",
            "Custom fields in the mobile app, please. We only see them on desktop.",
            "Add an API endpoint for time entries so we can bill from our own system.",
            "Let us export the timeline view as an image for presentations.",
            "We'd like to set different permissions per folder, not just per project.",
            "[Wish list:|Small wish:] let me choose which columns show in the list view.",
            "Please add a two-column layout for docs, we write a lot of side-by-side comparisons.",
        ],
        "terse": [
            "feature idea: dark mode", "please add gantt charts", "request: offline mode",
            "would love subtasks of subtasks", "suggestion: emoji reactions",
            "need recurring reminders", "feature request",
        ],
        "more": [
            "Our whole team would use it daily.",
            "Competitors have this already, to be honest.",
            "Not urgent, just an idea.",
            "We'd even pay extra for it on the {paid_plan} plan.",
            "Happy to test a beta version.",
            "Right now we work around it with a spreadsheet.",
            "I upvoted it on your roadmap page too.",
        ],
    },
    "integrations": {
        "core": [
            "The {integration} integration stopped posting updates {when}.",
            "How do I connect {integration} to our workspace? I can't find it in settings.",
            "Our Zapier zap that creates tasks from form responses fails with {error}.",
            "Files from {integration} show up as broken links in docs.",
            "The API returns 401 even with a freshly generated key.",
            "Webhooks are firing twice for every task update.",
            "Is there an API rate limit? We get 429 errors when syncing about 500 tasks.",
            "The {integration} sync only goes one way. Changes on our side never show up there.",
            "Calendar sync with {integration} puts every event one hour late.",
            "We reconnected {integration} and now all the old links in tasks are dead.",
            "Does the {integration} integration work with shared drives or only personal ones?",
            "The Slack bot answers in the wrong channel.",
            "Can I create tasks from emails? We'd like to forward messages from Outlook.",
            "Our SCIM provisioning from Azure AD creates duplicate users.",
            "The GitHub integration doesn't link commits to tasks anymore.",
            "Importing from Trello drops all the checklists.",
            "Is there an official Python client for your API, or only the REST docs?",
            "The {integration} app asks for permission to read all my files, why does it need that?",
            "Our webhook endpoint has been getting payloads without the project id {since}.",
            "The API docs say pagination uses cursors but the response has no cursor field.",
            "The Microsoft Teams tab shows {error} for half of our users.",
            "Can the {integration} integration be limited to one project?",
            "[How do we|Is it possible to] send new tasks from a project into a {integration} channel automatically?",
        ],
        "terse": [
            "slack integration broken", "api key not working", "zapier failing",
            "webhook duplicates", "google drive won't connect", "API 429 errors",
        ],
        "more": [
            "We're on the {paid_plan} plan, which should include integrations.",
            "I've disconnected and reconnected it twice.",
            "Our developer says the request looks right.",
            "It worked when we set it up in {month}.",
            "Request id {ref}, if that helps you find it in your logs.",
        ],
    },
    "performance": {
        "core": [
            "Everything is extremely slow today, boards take a minute to load.",
            "Is the service down? Nothing loads for anyone in our office in {city}.",
            "Docs with more than a few pages become laggy when typing.",
            "Search has been taking 20 seconds or more {since}.",
            "The desktop app uses 3 GB of memory and makes my laptop crawl.",
            "Pages time out with {error} during our morning stand-up, every day around 9am.",
            "Uploading is painfully slow, a {size} file takes half an hour on a fast connection.",
            "The board with 2,000 tasks is almost unusable, scrolling stutters.",
            "Sync between the desktop app and the web takes minutes instead of seconds.",
            "Your status page says all systems operational but the app is crawling for us.",
            "The mobile app takes [ages|forever] to open on my {device}.",
            "Dashboards keep spinning and never finish loading the charts.",
            "Since the update the web app freezes for a few seconds whenever I switch projects.",
            "Is there an outage in {country}? We get timeouts on every page.",
            "Loading the calendar view takes forever when it has a lot of recurring events.",
            "[Really|Very] slow again. Is something going on on your side?",
            "The API has been very slow {since}, 8 to 10 seconds per request.",
        ],
        "terse": [
            "super slow today", "is the site down?", "everything lagging", "timeouts everywhere",
            "app is so slow", "outage?",
        ],
        "more": [
            "Our internet is fine, other sites load instantly.",
            "It's the same on {browser} and in the desktop app.",
            "We have {seats} people waiting on this.",
            "It got worse over the last few weeks.",
            "Ping to your servers looks normal.",
        ],
    },
    "data_privacy": {
        "core": [
            "Under GDPR I'd like a copy of all personal data you hold about me.",
            "Please delete my account and all my data permanently.",
            "Where are our files stored? We need them to stay in the EU.",
            "Can you send us your data processing agreement to sign?",
            "Do you use our documents to train AI models?",
            "Can workspace admins read my private messages?",
            "How long do you keep data after we close the workspace?",
            "I want my name removed from a public board someone shared without asking me.",
            "Which subprocessors have access to our data?",
            "Our legal team needs to know whether you are HIPAA compliant before we store patient notes.",
            "Please confirm in writing that my data was deleted after I closed my account.",
            "Do you share usage data with advertisers?",
            "An ex-employee's account still holds our client files. Can the data be transferred and the account wiped?",
            "Can we choose the data centre region for a new workspace?",
            "Is data encrypted at rest, and who holds the keys?",
        ],
        "terse": [
            "GDPR request", "delete all my data", "where is my data stored?",
            "need your DPA", "data retention question",
        ],
        "more": [
            "We're based in {country} so this matters for us.",
            "Our compliance audit is on {date}.",
            "Please treat this as a formal request.",
            "I'm the data protection officer at {company}.",
        ],
    },
    "cancellation": {
        "core": [
            "Please cancel my subscription, we no longer need it.",
            "How do I close our workspace? We're moving to another tool.",
            "I want to cancel before the renewal on {date}.",
            "Cancel my account please. The project we used it for is over.",
            "We're shutting down the company, please end the {paid_plan} subscription and close everything.",
            "How do I stop the automatic renewal? I can't find a cancel button.",
            "I tried to cancel in the app but it just sends me to the pricing page.",
            "Please don't renew us next month. We'll export our data first.",
            "I cancelled last month but I was billed again. Please make sure it's really cancelled.",
            "Our team is switching tools, what happens to our data if we cancel today?",
        ],
        "terse": [
            "cancel my subscription", "how do i cancel", "close my account please",
            "stop renewal", "unsubscribe me from the paid plan",
        ],
        "more": [
            "Thanks for the service, it just isn't a fit anymore.",
            "Please confirm by email once it's done.",
            "We are on the {paid_plan} plan.",
            "No need to call me, I've made up my mind.",
        ],
    },
    "notifications": {
        "core": [
            "I get an email for every single comment, how do I turn that off?",
            "I stopped receiving notification emails {when}.",
            "Push notifications on my {device} don't come through at all.",
            "The daily digest arrives at 3am instead of in the morning.",
            "I keep getting notified about a project I left months ago.",
            "Can I get notified only when someone mentions me?",
            "Desktop notifications show up twice on {os}.",
            "Notification emails go to my old address even though I changed it.",
        ],
        "terse": [
            "too many emails", "no notifications anymore", "turn off email alerts",
            "push notifications not working",
        ],
        "more": [
            "I've checked the notification settings, everything is switched on.",
            "It's flooding my inbox.",
            "My colleagues get theirs normally.",
        ],
    },
    "security_report": {
        "core": [
            "I got an email that looks like it's from you asking me to confirm my password. Phishing?",
            "Someone logged into my account from {country}. It wasn't me.",
            "I think my account was hacked, there are tasks I didn't create.",
            "Reporting a possible vulnerability: a shared link shows files from other folders.",
            "A former employee still has access through an API key we can't find. Please revoke it.",
            "I received a login alert for a device I don't own.",
            "Your share links can be guessed by changing one character. That's a security issue.",
            "Got a text claiming to be from your support team asking for my 2FA code.",
        ],
        "terse": [
            "phishing email?", "suspicious login on my account", "account hacked",
            "security issue to report",
        ],
        "more": [
            "I've changed my password already.",
            "I can forward the email headers.",
            "Please treat this as urgent.",
            "I can share the details privately with your security team.",
        ],
    },
    "accessibility": {
        "core": [
            "Your board view doesn't work with {screen_reader}: the cards aren't announced at all.",
            "The contrast of the grey text is too low for me to read.",
            "I can't use the app with a keyboard only, focus gets stuck in the sidebar.",
            "Can you make the font size adjustable? Ctrl+plus breaks the layout.",
            "Drag and drop is the only way to reorder tasks, which I can't do with my motor impairment.",
            "The colour-only labels are impossible to tell apart for colourblind users like me.",
            "Videos in your help center have no captions.",
        ],
        "terse": [
            "screen reader support?", "accessibility problem", "contrast too low",
        ],
        "more": [
            "I'm using {screen_reader} on {os}.",
            "Our organisation has to meet WCAG 2.1 AA.",
            "Several people on our team rely on this.",
        ],
    },
}

# -- class-free parts --------------------------------------------------------------------------

OPENERS = {
    "plain": ["Hi,", "Hello,", "Hi there,", "Hi team,", "Hey,", "Hello support,", "Hi all,"],
    "chatty": ["Hey there!", "Hi folks,", "Hiya,", "Morning!", "Hey team, hope you're well.",
               "Hi, quick one:", "Sorry to bother you again,"],
    "formal": ["Dear Support Team,", "Good afternoon,", "Good morning,", "Dear Sir or Madam,",
               "To whom it may concern,", "Hello, I am writing on behalf of {company}."],
}
CONTEXT = [
    "We're on the {plan} plan.",
    "I'm {role} for a team of {seats}.",
    "This is the second time I'm writing about this.",
    "Not sure this is the right place to ask.",
    "Happy to jump on a call if that's easier.",
    "It's fairly urgent, we have a client deadline on {weekday}.",
    "We've been customers for about {days} months.",
    "Our office is in {city}.",
    "I'm writing from my phone, sorry for typos.",
    "My colleague {first2} asked me to send this.",
    "I opened ticket {ref} about this before but got no reply.",
    "Otherwise we love the product.",
]
CLOSERS = {
    "plain": ["Thanks", "Thanks!", "Thank you.", "Thanks, {first}", "Cheers", "- {first}"],
    "chatty": ["Thanks a lot!!", "thx", "You're the best :)", "Cheers, {first}", "ty",
               "Thanks in advance, {first}"],
    "formal": ["Kind regards, {fullname}", "Best regards, {fullname}", "Regards, {first}",
               "Thank you for your assistance.", "Sincerely, {fullname}, {company}"],
}
MISSPELLINGS = {
    "receive": "recieve", "because": "becuase", "definitely": "definately",
    "separate": "seperate", "password": "pasword", "account": "acount", "really": "realy",
    "again": "agian", "until": "untill", "which": "wich", "invoice": "invioce",
    "notification": "notifcation", "the": "teh", "doesn't": "doesnt", "can't": "cant",
    "I'm": "im", "don't": "dont", "it's": "its", "please": "pls", "thanks": "thx",
}


def _fill(text: str, slots: dict[str, str], rng: random.Random) -> str:
    """Choose one of every ``[a|b|c]``, then fill every ``{slot}``."""
    text = re.sub(r"\[([^\[\]]*)\]", lambda m: rng.choice(m.group(1).split("|")), text)

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in slots:
            return slots[key]
        if key == "invoice":
            return _invoice(rng)
        if key == "ref":
            return _ref(rng)
        if key == "date":
            return _date(rng)
        if key == "last4":
            return f"{rng.randint(1000, 9999)}"
        if key == "company_domain":
            return rng.choice(["example.com", "example.org"])
        return rng.choice(SLOTS[key])

    return re.sub(r"\{(\w+)\}", one, text)


def _typos(text: str, rng: random.Random, n: int) -> str:
    words = text.split(" ")
    for _ in range(n):
        i = rng.randrange(len(words))
        word = words[i]
        bare = word.strip(".,!?:;\"()")
        if bare in MISSPELLINGS and rng.random() < 0.6:
            words[i] = word.replace(bare, MISSPELLINGS[bare])
            continue
        if len(bare) < 4 or not bare.isalpha():
            continue
        j = rng.randrange(1, len(bare) - 1)
        kind = rng.random()
        if kind < 0.4:  # swap two letters
            new = bare[: j - 1] + bare[j] + bare[j - 1] + bare[j + 1 :]
        elif kind < 0.7:  # drop one
            new = bare[:j] + bare[j + 1 :]
        else:  # double one
            new = bare[:j] + bare[j] + bare[j:]
        words[i] = word.replace(bare, new)
    return " ".join(words)


#: Sentence starts that are not names, so lower case after "Hi," reads right.
_COMMON_STARTS = set(
    "the a an my our we it is can could how where what why when since every everything "
    "please comments uploading search checklist undo recurring sorting files tables dark "
    "moving mentions bulk duplicating forms weird found images if sync dashboards loading "
    "really very docs pages uploading your single login after after invite password "
    "when after question quick wish small would idea suggestion feature let allow add "
    "custom any cancel under do which an ex-employee reporting someone got videos drag "
    "push desktop notification reset".split()
)


def _lowered(sentence: str) -> str:
    first = sentence.split(" ", 1)[0]
    if first.lower().strip(":,") in _COMMON_STARTS and (len(first) == 1 or not first.isupper()):
        return sentence[:1].lower() + sentence[1:]
    return sentence


def compose(label: str, rng: random.Random) -> str:
    """One ticket of class ``label``."""
    parts = CLASSES[label]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    slots = {
        "first": first, "fullname": f"{first} {last}", "first2": rng.choice(FIRST),
        "email": _email(first, last, rng),
        **{k: rng.choice(v) for k, v in SLOTS.items()},
    }
    slots["feature_cap"] = slots["feature"][:1].upper() + slots["feature"][1:]
    register = rng.choices(["terse", "plain", "chatty", "formal"], weights=[18, 47, 20, 15])[0]
    if register == "terse":
        text = rng.choice(parts["terse"])
        if rng.random() < 0.35:
            joint = " " if text[-1] in ".?!" else rng.choice([". ", ", ", " - "])
            more = rng.choice(parts["more"])
            text += joint + (_lowered(more) if joint == ", " else more)
    else:
        body = [rng.choice(parts["core"])]
        n_more = rng.choices([0, 1, 2], weights=[45, 40, 15])[0]
        body += rng.sample(parts["more"], k=min(n_more, len(parts["more"])))
        if rng.random() < (0.45 if register != "plain" else 0.25):
            body.insert(rng.randrange(1, len(body) + 1), rng.choice(CONTEXT))
        if register != "plain" or rng.random() < 0.5:
            opener = rng.choice(OPENERS[register])
            if opener.endswith(","):  # "Hi, the app..." as one line of an e-mail reads
                body[0] = _lowered(body[0])
            body.insert(0, opener)
        if rng.random() < (0.75 if register == "formal" else 0.4):
            body.append(rng.choice(CLOSERS[register]))
        text = " ".join(body)
    text = _fill(text, slots, rng)
    # The noise of real queues.
    if rng.random() < 0.16:
        text = _typos(text, rng, rng.choice([1, 1, 2, 3]))
    roll = rng.random()
    if register in ("terse", "chatty") and roll < 0.22:
        text = text.lower()
    elif register == "terse" and roll < 0.27:
        text = text.upper()
    if text.endswith(".") and rng.random() < 0.12:
        text = text[:-1]
    if register == "chatty" and text.endswith("?") and rng.random() < 0.3:
        text += "?"
    return text


def generate() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for label, count in COUNTS.items():
        made = 0
        while made < count:
            text = compose(label, rng)
            key = text.lower()
            if key in seen:
                continue
            seen.add(key)
            rows.append((text, label))
            made += 1
    rng.shuffle(rows)
    return rows


def main() -> None:
    rows = generate()
    with OUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} tickets to {OUT}")


if __name__ == "__main__":
    main()
