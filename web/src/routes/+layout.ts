// SSR renders the shell (header, empty wall); the page fetches /api/cameras on mount and then lives on Socket.io.
export const prerender = false;
export const ssr = true;
